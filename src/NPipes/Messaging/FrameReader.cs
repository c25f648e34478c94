using System.Buffers;
using System.Runtime.CompilerServices;

namespace NPipes.Messaging;

/// <summary>
/// Reads frames from a stream through one pooled read buffer. Small frames are parsed from the buffer; a large payload is
/// read straight into its own pooled array. One implementation serves the sync and async paths (the sync path runs
/// the same state machine to completion without awaiting).
/// </summary>
internal sealed class FrameReader : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly Stream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;
    private bool _large; // the last payload was read straight into its destination: read only the small fields ahead of the next one

    public FrameReader(Stream stream) => _stream = stream;

    private long _frameStarted; // Stopwatch timestamp of a frame's first byte while it is incomplete; 0 between frames

    /// <summary>True while part of a frame has been consumed: an interruption now leaves the stream out of sync.</summary>
    public bool InFrame { get; private set; }

    /// <summary>One frame read: its payload (in a pooled array, or in the caller's buffer writer), or Length -1 at a clean end of stream.</summary>
    public readonly record struct Frame(byte[]? Pooled, int Length, uint Crc);

    /// <summary>How long the frame being read has been arriving since its first byte; zero between frames.</summary>
    public TimeSpan FrameInProgress
    {
        get
        {
            long since = Volatile.Read(ref _frameStarted);
            return since == 0 ? TimeSpan.Zero : System.Diagnostics.Stopwatch.GetElapsedTime(since);
        }
    }

    /// <summary>The next message, or null at a clean end of stream (between frames).</summary>
    public async ValueTask<PipeMessage?> ReadAsync(FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        Frame frame = await ReadFrameAsync(options, null, sync, cancellationToken).ConfigureAwait(false);
        return frame.Length < 0 ? null : new PipeMessage(frame.Pooled ?? [], frame.Length, options, frame.Crc);
    }

    /// <summary>
    /// Reads the next frame. With <paramref name="destination"/>, the payload is written into it (and advanced past) and
    /// nothing is allocated; without, it goes into a pooled array the caller owns. Length -1: clean end of stream.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Frame> ReadFrameAsync(FrameOptions options, IBufferWriter<byte>? destination, bool sync, CancellationToken cancellationToken)
    {
        FrameHeader header;
        while (!FrameCodec.TryReadHeader(_buffer.AsSpan(_start, _end - _start), options, out header))
        {
            if (_end > _start && Volatile.Read(ref _frameStarted) == 0)
            {
                Volatile.Write(ref _frameStarted, System.Diagnostics.Stopwatch.GetTimestamp());
            }
            if (!await FillAsync(sync, cancellationToken, _large ? FrameCodec.HeaderLength - (_end - _start) : int.MaxValue).ConfigureAwait(false))
            {
                int partial = _end - _start;
                return partial == 0 ? new Frame(null, -1, 0) : throw new IncompleteFrameException(partial, 0);
            }
        }
        if (Volatile.Read(ref _frameStarted) == 0)
        {
            Volatile.Write(ref _frameStarted, System.Diagnostics.Stopwatch.GetTimestamp());
        }
        if (header.DataLength > Array.MaxLength)
        {
            throw new FrameTooLargeException(header.DataLength, Array.MaxLength);
        }
        InFrame = true;
        _start += FrameCodec.HeaderLength;
        int length = (int)header.DataLength;
        byte[]? pooled = destination is null && length > 0 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Memory<byte> payload = destination is not null ? destination.GetMemory(length)[..length] : pooled is null ? Memory<byte>.Empty : pooled.AsMemory(0, length);
        try
        {
            int filled = 0;
            while (filled < length)
            {
                int buffered = _end - _start;
                if (buffered > 0)
                {
                    int n = Math.Min(buffered, length - filled);
                    _buffer.AsSpan(_start, n).CopyTo(payload.Span[filled..]);
                    _start += n;
                    filled += n;
                }
                else if (length - filled >= BufferSize / 2)
                {
                    // Large remainder: read into the payload itself, skipping a copy.
                    Memory<byte> rest = payload[filled..];
                    int n = sync ? _stream.Read(rest.Span) : await _stream.ReadAsync(rest, cancellationToken).ConfigureAwait(false);
                    filled += n > 0 ? n : throw new IncompleteFrameException(FrameCodec.HeaderLength + filled, header.FrameLength);
                }
                else if (!await FillAsync(sync, cancellationToken).ConfigureAwait(false))
                {
                    throw new IncompleteFrameException(FrameCodec.HeaderLength + filled, header.FrameLength);
                }
            }
            // After a large payload, read just the CRC and the next header, so that a large next payload again goes
            // straight into its destination instead of through the read buffer (one copy less).
            _large = length >= BufferSize / 2;
            while (_end - _start < FrameCodec.CrcLength)
            {
                if (!await FillAsync(sync, cancellationToken, _large ? FrameCodec.CrcLength + FrameCodec.HeaderLength - (_end - _start) : int.MaxValue).ConfigureAwait(false))
                {
                    throw new IncompleteFrameException(FrameCodec.HeaderLength + length + _end - _start, header.FrameLength);
                }
            }
            uint crc = FrameCodec.ReadUInt32(_buffer.AsSpan(_start, FrameCodec.CrcLength), options.ByteOrder);
            _start += FrameCodec.CrcLength;
            // The whole payload is hashed once it is in: the transfer runs at full speed, and this hash overlaps the
            // sender's hashing of its next payload (hashing piece by piece as data arrives measured slower).
            if (options.Crc)
            {
                FrameCodec.VerifyCrc(FrameCodec.ComputeCrc(payload.Span), crc);
            }
            InFrame = false;
            Volatile.Write(ref _frameStarted, 0);
            destination?.Advance(length);
            return new Frame(pooled, length, crc);
        }
        catch
        {
            if (pooled is not null)
            {
                ArrayPool<byte>.Shared.Return(pooled);
            }
            throw;
        }
    }

    /// <summary>Reads more bytes into the buffer; false at end of stream.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FillAsync(bool sync, CancellationToken cancellationToken, int max = int.MaxValue)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        int room = Math.Min(_buffer.Length - _end, Math.Max(1, max));
        int n = sync
            ? _stream.Read(_buffer, _end, room)
            : await _stream.ReadAsync(_buffer.AsMemory(_end, room), cancellationToken).ConfigureAwait(false);
        _end += n;
        return n > 0;
    }

    public void Dispose()
    {
        byte[] buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
