using System.Buffers;
using System.Runtime.CompilerServices;
using NPipes.Transport;

namespace NPipes.Messaging;

/// <summary>
/// Reads frames from a stream through one pooled read buffer. Small frames are parsed from the buffer; a large payload is
/// read straight into its own pooled array. One implementation serves the sync and async paths (the sync path runs
/// the same state machine to completion without awaiting).
/// </summary>
/// <remarks>
/// With a direct receive (the Linux socket path), bytes that have already arrived are taken on the caller's thread, a
/// wait between frames (for a reply about to arrive) may spin briefly there, and only then does a read park on the
/// stream (the socket engine, or poll for a synchronous read). The rest of a large payload and the small fields after it (CRC field, next
/// header) arrive in one receive.
/// </remarks>
internal sealed partial class FrameReader : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private const int Trailer = FrameCodec.CrcLength + FrameCodec.HeaderLength; // what follows a payload: its CRC field, the next header
    private readonly Stream _stream;
    private readonly IDirectReceive? _direct;
    private readonly ISharedMemoryTransport? _shm; // shared memory on: descriptor frames are read
    private readonly ISharedFileTransport? _files; // and where files travel, every read is its recvmsg (files arrive with bytes)
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;
    private bool _large; // the last payload was read straight into its destination: read only the small fields ahead of the next one

    /// <param name="stream">What the reader waits on (the transport stream, or a watching wrapper around it).</param>
    /// <param name="direct">The transport's non-blocking receives, or null.</param>
    /// <param name="sharedMemory">The transport's shared memory when the connection has it on (docs/shared-memory.md), else null.</param>
    public FrameReader(Stream stream, IDirectReceive? direct = null, ISharedMemoryTransport? sharedMemory = null)
    {
        _stream = stream;
        _shm = sharedMemory;
        _files = sharedMemory?.Files;
        _direct = _files is null ? direct : null;
    }

    private long _frameStarted; // Stopwatch timestamp of a frame's first byte while it is incomplete; 0 between frames

    /// <summary>True while part of a frame has been consumed: an interruption now leaves the stream out of sync.</summary>
    public bool InFrame { get; private set; }

    /// <summary>Nothing more has been read ahead: the peer has sent no further bytes we know of (it may be waiting for an answer).</summary>
    public bool Drained => _start == _end;

    /// <summary>
    /// One frame read: its payload (in a pooled array, in a shared-memory <paramref name="View"/>, or in the caller's
    /// buffer writer), or Length -1 at a clean end of stream.
    /// </summary>
    public readonly record struct Frame(byte[]? Pooled, int Length, uint Crc, SharedMemoryView? View = null)
    {
        /// <summary>The Length of a kind-3 frame read (§9): a ring attached, no message; the reader reads on.</summary>
        public const int Attached = -2;

        /// <summary>The frame as a message that owns its payload.</summary>
        public PipeMessage ToMessage(FrameOptions options) =>
            View is not null ? new PipeMessage(View, Length, options, Crc) : new PipeMessage(Pooled ?? [], Length, options, Crc);
    }

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
        return frame.Length < 0 ? null : frame.ToMessage(options);
    }

    /// <summary>
    /// Reads the next frame. With <paramref name="destination"/>, the payload is written into it (and advanced past) and
    /// nothing is allocated; without, it goes into a pooled array the caller owns. Length -1: clean end of stream.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Frame> ReadFrameAsync(FrameOptions options, IBufferWriter<byte>? destination, bool sync, CancellationToken cancellationToken)
    {
        FrameHeader header;
        while (true)
        {
            bool descriptor;
            while (!TryReadHeader(options, out header, out descriptor))
            {
                if (_end > _start && Volatile.Read(ref _frameStarted) == 0)
                {
                    Volatile.Write(ref _frameStarted, System.Diagnostics.Stopwatch.GetTimestamp());
                }
                // Only a wait between frames spins (a reply about to arrive); in the middle of a frame the rest is already
                // streaming in, and a spin would only take it in smaller pieces while contending with the sender.
                bool between = _end == _start;
                if (!await FillAsync(sync, cancellationToken, _large ? FrameCodec.HeaderLength - (_end - _start) : int.MaxValue, spin: between).ConfigureAwait(false))
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
            if (!descriptor)
            {
                break;
            }
            Frame shared = await ReadSharedAsync((_files?.Received ?? 0) - (_end - _start), options, destination, sync, cancellationToken).ConfigureAwait(false);
            if (shared.Length != Frame.Attached)
            {
                return shared;
            }
            // A ring attached with a frame of its own (§9): no message; read on.
        }
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
                    // Large remainder: read into the payload itself, skipping a copy; with a direct receive, the fields
                    // after it (CRC, next header) come in the same call, into the emptied read buffer.
                    Memory<byte> rest = payload[filled..];
                    _start = _end = 0;
                    int n = _files is not null ? await ReceiveSharedAsync(rest, _buffer.AsMemory(0, Trailer), sync, cancellationToken).ConfigureAwait(false)
                        : UseDirect(sync, cancellationToken) ? _direct!.TryReceive(rest.Span, _buffer.AsSpan(0, Trailer), spin: false) : -1;
                    if (n > rest.Length)
                    {
                        _end = n - rest.Length;
                        n = rest.Length;
                    }
                    else if (n < 0)
                    {
                        n = sync ? _stream.Read(rest.Span) : await _stream.ReadAsync(rest, cancellationToken).ConfigureAwait(false);
                    }
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
                if (!await FillAsync(sync, cancellationToken, _large ? Trailer - (_end - _start) : int.MaxValue).ConfigureAwait(false))
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
            // A file that came with this frame's bytes belongs to no descriptor frame: refused with the frame (§4.1).
            _files?.CheckNoStrayFile(_files.Received - (_end - _start));
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

    /// <summary>Reads more bytes into the buffer (with <paramref name="spin"/>, the direct receive may spin first); false at end of stream.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FillAsync(bool sync, CancellationToken cancellationToken, int max = int.MaxValue, bool spin = false)
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
        int n = _files is not null ? await ReceiveSharedAsync(_buffer.AsMemory(_end, room), default, sync, cancellationToken).ConfigureAwait(false)
            : UseDirect(sync, cancellationToken) ? _direct!.TryReceive(_buffer.AsSpan(_end, room), default, spin) : -1;
        if (n < 0)
        {
            n = sync
                ? _stream.Read(_buffer, _end, room)
                : await _stream.ReadAsync(_buffer.AsMemory(_end, room), cancellationToken).ConfigureAwait(false);
        }
        _end += n;
        return n > 0;
    }

    /// <summary>Whether to try the direct receive first (an async read already cancelled goes to the stream, which reports it).</summary>
    private bool UseDirect(bool sync, CancellationToken cancellationToken) =>
        _direct is not null && (sync || !cancellationToken.IsCancellationRequested);

    public void Dispose()
    {
        _files?.CloseQueuedFiles();
        Interlocked.Exchange(ref _ring, null)?.Dispose();
        byte[] buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
