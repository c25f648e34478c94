using System.Diagnostics;
using System.Runtime.ExceptionServices;
using NPipes.Transport;

namespace NPipes.Messaging.Writing;

/// <summary>
/// The state a coalescing connection's senders and writer share, behind one lock: the queued bytes, who owns the
/// stream's write side (one writer at a time: the background <see cref="QueueFlusher"/>, or a caller that needs its bytes
/// out now), how many bytes were accepted and written, and the first failure. Every change wakes the waiters.
/// </summary>
/// <remarks>
/// Ownership protocol: whoever sets "writing" (<see cref="TryStartBackground"/>, <see cref="TryAcquire"/>,
/// <see cref="Push"/> returning true) takes chunks and writes them, then calls <see cref="Release"/> (the background
/// flush releases in <see cref="TryTakeOrRelease"/>). A failure is recorded once (<see cref="Fail"/>): it empties the
/// queue, is reported to the connection, and is thrown by every later call.
/// </remarks>
internal sealed partial class SendQueue
{
    /// <summary>The most bytes queued before a send waits for the writer.</summary>
    public const int QueueLimit = 256 * 1024;

    /// <summary>
    /// A frame sent after the connection has been quiet this long is written at once (one non-blocking send) instead of
    /// waiting for the background flush: a lone message or a reply in a ping-pong then costs no thread hop, while sends in
    /// quick succession (a loop) are coalesced.
    /// </summary>
    private static readonly long QuietTicks = Stopwatch.Frequency / 100_000; // 10 µs

    private readonly object _gate = new();
    private readonly FrameBuffer _buffer = new();
    private readonly IDirectSend? _direct;
    private readonly Action<Exception> _onFailure;
    private readonly WaitList _waits;
    private long _enqueued;       // bytes ever accepted (queued, or being written in place)
    private long _written;        // bytes ever written to the stream
    private bool _writing;        // someone owns the stream's write side
    private bool _scheduled;      // a background flush is queued on the thread pool
    private Exception? _failure;
    private long _lastSend;

    public SendQueue(Stream stream, IDirectSend? direct, Action<Exception> onFailure)
    {
        _direct = direct;
        _onFailure = onFailure;
        _waits = new WaitList(this);
        Flusher = new QueueFlusher(this, stream);
    }

    /// <summary>The lock every member takes (the wait list waits on it).</summary>
    public object Gate => _gate;

    /// <summary>Writes queued chunks to the stream: in the background, or for a caller that owns the write side.</summary>
    public QueueFlusher Flusher { get; }

    /// <summary>Non-blocking sends on the caller's thread, when the transport has them.</summary>
    public IDirectSend? Direct => _direct;

    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Bytes queued now (a hint outside the lock).</summary>
    public int Queued => _buffer.Count;

    /// <summary>Bytes written so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    // ---- senders ----

    /// <summary>
    /// Encodes the frame into the queue if there is room (false: the send must wait for <see cref="WaitKind.Room"/>).
    /// After a quiet spell the frame is sent at once when the transport can send without blocking.
    /// </summary>
    /// <exception cref="IOException">An earlier write failed, or this direct send did.</exception>
    public bool TryEnqueue(ReadOnlySpan<byte> payload, string? text, int byteCount, uint crc, FrameOptions options)
    {
        int frameLength = FrameCodec.Overhead + (text is null ? payload.Length : byteCount);
        long now = Stopwatch.GetTimestamp();
        Exception? failed = null;
        lock (_gate)
        {
            ThrowIfFailedLocked();
            if (_buffer.Count > 0 && _buffer.Count + frameLength > QueueLimit)
            {
                return false;
            }
            _buffer.Append(payload, text, byteCount, crc, options, QueueLimit);
            _enqueued += frameLength;
            bool quiet = now - _lastSend > QuietTicks;
            _lastSend = now;
            if (quiet && !_writing && _buffer.Count == frameLength && _direct is not null)
            {
                failed = SendDirectLocked();
            }
            if (failed is null)
            {
                ScheduleLocked();
                return true;
            }
        }
        Fail(failed);
        throw new IOException("The write failed; see the inner exception.", failed);
    }

    /// <summary>
    /// Gets what is queued moving without waiting for the peer: with a direct send, one non-blocking send of the whole
    /// queue (the rest, if the transport is full, goes to the background flush). Without one, the caller becomes the
    /// owner (returns true) and must write the queue, then <see cref="Release"/>.
    /// </summary>
    /// <exception cref="IOException">The direct send failed (recorded as the failure).</exception>
    public bool Push()
    {
        if (_buffer.Count == 0)
        {
            return false;
        }
        Exception? failed;
        lock (_gate)
        {
            if (_writing || _buffer.Count == 0 || _failure is not null)
            {
                return false;
            }
            if (_direct is null)
            {
                _writing = true;
                return true;
            }
            failed = SendDirectLocked();
            if (failed is null)
            {
                ScheduleLocked();
                return false;
            }
        }
        Fail(failed);
        ExceptionDispatchInfo.Throw(failed);
        return false;
    }

    /// <summary>One non-blocking send of the queue; the bytes that went are dropped from it. Returns the error instead of throwing (the caller fails outside the lock).</summary>
    private Exception? SendDirectLocked()
    {
        try
        {
            int sent = _direct!.TrySend(_buffer.Pending);
            if (sent > 0)
            {
                _buffer.Consume(sent);
                _written += sent;
                _waits.SignalLocked();
            }
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>A frame written in place by its sender (not through the queue) counts as accepted.</summary>
    public void AddEnqueued(long count)
    {
        lock (_gate)
        {
            _enqueued += count;
        }
    }

    // ---- failure and closing ----

    public void ThrowIfFailedLocked()
    {
        if (_failure is not null)
        {
            throw new IOException("An earlier write on this connection failed; see the inner exception.", _failure);
        }
    }

    /// <summary>Records the first failure, drops what is queued, wakes every waiter, and reports it to the connection (once).</summary>
    public void Fail(Exception error)
    {
        bool first;
        lock (_gate)
        {
            first = _failure is null;
            _failure ??= error;
            _buffer.Clear();
            _waits.SignalLocked();
        }
        if (first)
        {
            _onFailure(error);
        }
    }

    /// <summary>The connection closed: nothing more will be written; waiting senders fail.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _failure ??= new ObjectDisposedException(nameof(PipeConnection), "The connection is closed.");
            _buffer.Clear();
            _waits.SignalLocked();
        }
    }
}
