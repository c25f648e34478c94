using System.Buffers;
using NPipes.Transport;

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
internal sealed class FrameWriter : IFrameWriter, IWriteSide
{
    private readonly Stream _stream;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Action<Exception>? _onSharedFailure;
    private bool _inFrame;

    /// <param name="stream">Where the frames go.</param>
    /// <param name="sharedMemory">The transport's shared memory and its options when the connection has it on, else null.</param>
    /// <param name="onSharedFailure">Called when a shared-memory send fails (the connection closes: the ring can no longer be trusted or the stream is broken).</param>
    public FrameWriter(Stream stream, (ISharedMemoryTransport Transport, SharedMemoryOptions Options)? sharedMemory = null, Action<Exception>? onSharedFailure = null)
    {
        _stream = stream;
        _onSharedFailure = onSharedFailure;
        if (sharedMemory is { } shm)
        {
            Shared = new SharedMemoryFrameWriter(this, stream, shm.Transport, shm.Options);
        }
    }

    /// <summary>True while a frame has been partly written: an interruption now leaves the stream out of sync.</summary>
    public bool InFrame => _inFrame || Shared is { InFrame: true };

    /// <summary>The writer of shared-memory frames (each one write too), when the connection has shared memory on.</summary>
    public SharedMemoryFrameWriter? Shared { get; }

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

    /// <summary>Takes the lock every frame is written under.</summary>
    public async ValueTask AcquireAsync(bool sync, CancellationToken cancellationToken)
    {
        if (sync)
        {
            _lock.Wait(cancellationToken);
        }
        else
        {
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Nothing is ever queued here.</summary>
    public ValueTask WriteQueuedAsync(bool sync) => default;

    /// <summary>Nothing is counted: every send returns once written.</summary>
    public void AddEnqueued(long count)
    {
    }

    /// <summary>Nothing is counted: every send returns once written.</summary>
    public void AddWritten(long count)
    {
    }

    /// <summary>A shared-memory send failed (it also throws to its caller): the connection closes.</summary>
    public void Fail(Exception error) => _onSharedFailure?.Invoke(error);

    /// <summary>Releases the lock.</summary>
    public void Release() => _lock.Release();

    private async ValueTask WriteFrameAsync(byte[] frame, int length, bool sync, CancellationToken cancellationToken)
    {
        await AcquireAsync(sync, cancellationToken).ConfigureAwait(false);
        try
        {
            _inFrame = true;
            if (sync)
            {
                _stream.Write(frame, 0, length);
            }
            else
            {
                await _stream.WriteAsync(frame.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }
            _inFrame = false;
        }
        finally
        {
            _lock.Release();
        }
    }
}
