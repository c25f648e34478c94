using System.Buffers;

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

    public FrameReader(Stream stream) => _stream = stream;

    private long _frameStarted; // Stopwatch timestamp of a frame's first byte while it is incomplete; 0 between frames

    /// <summary>True while part of a frame has been consumed: an interruption now leaves the stream out of sync.</summary>
    public bool InFrame { get; private set; }

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
        FrameHeader header;
        while (!FrameCodec.TryReadHeader(_buffer.AsSpan(_start, _end - _start), options, out header))
        {
            if (_end > _start && Volatile.Read(ref _frameStarted) == 0)
            {
                Volatile.Write(ref _frameStarted, System.Diagnostics.Stopwatch.GetTimestamp());
            }
            if (!await FillAsync(sync, cancellationToken).ConfigureAwait(false))
            {
                int partial = _end - _start;
                return partial == 0 ? null : throw new IncompleteFrameException(partial, 0);
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
        byte[] payload = length == 0 ? [] : ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int filled = 0;
            while (filled < length)
            {
                int buffered = _end - _start;
                if (buffered > 0)
                {
                    int n = Math.Min(buffered, length - filled);
                    _buffer.AsSpan(_start, n).CopyTo(payload.AsSpan(filled));
                    _start += n;
                    filled += n;
                }
                else if (length - filled >= BufferSize / 2)
                {
                    // Large remainder: read into the payload itself, skipping a copy.
                    Memory<byte> rest = payload.AsMemory(filled, length - filled);
                    int n = sync ? _stream.Read(rest.Span) : await _stream.ReadAsync(rest, cancellationToken).ConfigureAwait(false);
                    filled += n > 0 ? n : throw new IncompleteFrameException(FrameCodec.HeaderLength + filled, header.FrameLength);
                }
                else if (!await FillAsync(sync, cancellationToken).ConfigureAwait(false))
                {
                    throw new IncompleteFrameException(FrameCodec.HeaderLength + filled, header.FrameLength);
                }
            }
            while (_end - _start < FrameCodec.CrcLength)
            {
                if (!await FillAsync(sync, cancellationToken).ConfigureAwait(false))
                {
                    throw new IncompleteFrameException(FrameCodec.HeaderLength + length + _end - _start, header.FrameLength);
                }
            }
            uint crc = FrameCodec.ReadUInt32(_buffer.AsSpan(_start, FrameCodec.CrcLength), options.ByteOrder);
            _start += FrameCodec.CrcLength;
            if (options.Crc)
            {
                FrameCodec.VerifyCrc(FrameCodec.ComputeCrc(payload.AsSpan(0, length)), crc);
            }
            InFrame = false;
            Volatile.Write(ref _frameStarted, 0);
            return new PipeMessage(payload, length, options, crc);
        }
        catch
        {
            if (length > 0)
            {
                ArrayPool<byte>.Shared.Return(payload);
            }
            throw;
        }
    }

    /// <summary>Reads more bytes into the buffer; false at end of stream.</summary>
    private async ValueTask<bool> FillAsync(bool sync, CancellationToken cancellationToken)
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
        int n = sync
            ? _stream.Read(_buffer, _end, _buffer.Length - _end)
            : await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
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
