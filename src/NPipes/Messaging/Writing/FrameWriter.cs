using System.Buffers;

namespace NPipes.Messaging.Writing;

/// <summary>
/// Writes frames to a stream, one writer at a time. Each frame is encoded into one pooled buffer and written with a
/// single write before the send returns, so on a message pipe every frame is exactly one message (what npipes 1.0.1 reads).
/// Nothing is ever queued, so there is nothing to flush; a failed write throws to its caller.
/// </summary>
/// <remarks>
/// The lock is deliberately never disposed: a writer blocked on the stream must still release it, and writers queued
/// behind it must wake and fail on the closed stream (a disposed SemaphoreSlim would leave them waiting forever).
/// SemaphoreSlim holds no unmanaged resource unless its wait handle is used, which it is not here.
/// </remarks>
internal sealed class FrameWriter : IFrameWriter
{
    private readonly Stream _stream;
    private readonly SemaphoreSlim _lock = new(1, 1);

    public FrameWriter(Stream stream) => _stream = stream;

    /// <summary>True while a frame has been partly written: an interruption now leaves the stream out of sync.</summary>
    public bool InFrame { get; private set; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> payload, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        FrameCodec.CheckPayloadLength(payload.Length, options);
        byte[] frame = ArrayPool<byte>.Shared.Rent(FrameCodec.Overhead + payload.Length);
        try
        {
            int length = FrameCodec.Write(frame, payload.Span, options);
            await WriteFrameAsync(frame, length, sync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    public async ValueTask WriteTextAsync(string text, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        int byteCount = FrameCodec.GetByteCount(text, options);
        FrameCodec.CheckPayloadLength(byteCount, options);
        byte[] frame = ArrayPool<byte>.Shared.Rent(FrameCodec.Overhead + byteCount);
        try
        {
            int length = FrameCodec.WriteText(frame, text, byteCount, options);
            await WriteFrameAsync(frame, length, sync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private async ValueTask WriteFrameAsync(byte[] frame, int length, bool sync, CancellationToken cancellationToken)
    {
        if (sync)
        {
            _lock.Wait(cancellationToken);
        }
        else
        {
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            InFrame = true;
            if (sync)
            {
                _stream.Write(frame, 0, length);
            }
            else
            {
                await _stream.WriteAsync(frame.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }
            InFrame = false;
        }
        finally
        {
            _lock.Release();
        }
    }
}
