using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using NPipes.Transport;

namespace NPipes.Messaging;

/// <summary>
/// Frame writer for byte-stream transports (Unix sockets): a send encodes its frame into the connection's queue and
/// returns; one writer at a time (a thread-pool flusher, or a caller that needs the bytes out now) writes everything
/// queued with one write. Many small frames thus cost one system call instead of one each, and the peer reads them in
/// large chunks. Frame boundaries are unaffected (the stream has none); order is queue order.
/// </summary>
/// <remarks>
/// <para>Backpressure: a send waits while the queue holds <see cref="QueueLimit"/> bytes. Payloads of at least
/// <see cref="DirectThreshold"/> bytes are not copied: once the queue ahead of them is written, header, payload and CRC
/// go out in one gather write (sendmsg) and the send returns when they are written.</para>
/// <para>A failed background write is kept in <see cref="Failure"/>, reported to the connection (which closes with
/// <see cref="DisconnectReason.IOError"/>) and thrown by every later call.</para>
/// <para>Never used on Windows: there every frame must be one write, so that it is one pipe message for npipes.</para>
/// </remarks>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class CoalescingFrameWriter : IFrameWriter, IThreadPoolWorkItem
{
    /// <summary>Payloads at least this long are written in place rather than copied into the queue.</summary>
    public const int DirectThreshold = 32 * 1024;

    /// <summary>The most bytes queued before a send waits for the writer.</summary>
    public const int QueueLimit = 256 * 1024;

    private const int InitialCapacity = 4 * 1024;

    /// <summary>
    /// A frame sent after the connection has been quiet this long is written at once (one non-blocking send) instead of
    /// waiting for the background flush: a lone message or a reply in a ping-pong then costs no thread hop, while sends in
    /// quick succession (a loop) are coalesced.
    /// </summary>
    private static readonly long QuietTicks = Stopwatch.Frequency / 100_000; // 10 µs

    private readonly Stream _stream;
    private readonly UnixSocketStream? _socket;
    private readonly Action<Exception> _onFailure;
    private readonly object _gate = new();
    private readonly byte[] _edges = new byte[FrameCodec.HeaderLength + FrameCodec.CrcLength]; // used by the owner only
    private readonly List<Waiter> _waiters = [];
    private readonly Stack<Waiter> _idleWaiters = new();
    private readonly Action _onBackgroundWriteCompleted;
    private byte[] _queue = new byte[InitialCapacity];
    private byte[] _spare = new byte[InitialCapacity];
    private int _queued;          // bytes in _queue
    private long _enqueued;       // bytes ever accepted (queued, or being written in place)
    private long _written;        // bytes ever written to the stream
    private bool _writing;        // someone owns the stream's write side
    private bool _scheduled;      // a background flush is queued on the thread pool
    private int _syncWaiters;
    private Exception? _failure;
    private volatile bool _inFrame;
    private ValueTask _backgroundWrite;
    private int _backgroundCount;
    private long _lastSend;

    public CoalescingFrameWriter(Stream stream, Action<Exception> onFailure)
    {
        _stream = stream;
        _socket = (stream is IdleWatchStream watch ? watch.Inner : stream) as UnixSocketStream;
        _onFailure = onFailure;
        _onBackgroundWriteCompleted = OnBackgroundWriteCompleted;
    }

    public bool InFrame => _inFrame;

    public Exception? Failure => Volatile.Read(ref _failure);

    // ---- sending ----

    public ValueTask WriteAsync(ReadOnlyMemory<byte> payload, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        FrameCodec.CheckPayloadLength(payload.Length, options);
        if (payload.Length >= DirectThreshold)
        {
            return WriteDirectAsync(payload, options, sync, cancellationToken);
        }
        uint crc = options.Crc ? FrameCodec.ComputeCrc(payload.Span) : 0;
        return TryEnqueue(payload.Span, null, 0, crc, options) ? default : EnqueueSlowAsync(payload, null, 0, crc, options, sync, cancellationToken);
    }

    public ValueTask WriteTextAsync(string text, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        int byteCount = FrameCodec.GetByteCount(text, options);
        FrameCodec.CheckPayloadLength(byteCount, options);
        if (byteCount >= DirectThreshold)
        {
            return WriteLargeTextAsync(text, byteCount, options, sync, cancellationToken);
        }
        return TryEnqueue(default, text, byteCount, 0, options) ? default : EnqueueSlowAsync(default, text, byteCount, 0, options, sync, cancellationToken);
    }

    private async ValueTask WriteLargeTextAsync(string text, int byteCount, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        byte[] encoded = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            options.Encoding.GetBytes(text, encoded.AsSpan(0, byteCount));
            await WriteDirectAsync(encoded.AsMemory(0, byteCount), options, sync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(encoded);
        }
    }

    /// <summary>Encodes the frame into the queue if there is room; false when the send must wait for the writer.</summary>
    private bool TryEnqueue(ReadOnlySpan<byte> payload, string? text, int byteCount, uint crc, FrameOptions options)
    {
        int payloadLength = text is null ? payload.Length : byteCount;
        int frameLength = FrameCodec.Overhead + payloadLength;
        long now = Stopwatch.GetTimestamp();
        Exception? failed = null;
        lock (_gate)
        {
            ThrowIfFailed();
            if (_queued > 0 && _queued + frameLength > QueueLimit)
            {
                return false;
            }
            if (_queued + frameLength > _queue.Length)
            {
                Grow(_queued + frameLength);
            }
            Span<byte> frame = _queue.AsSpan(_queued, frameLength);
            if (text is null)
            {
                FrameCodec.WriteHeader(frame, (uint)payloadLength, options.ByteOrder);
                payload.CopyTo(frame[FrameCodec.HeaderLength..]);
                FrameCodec.WriteCrcField(frame[(FrameCodec.HeaderLength + payloadLength)..], crc, options.ByteOrder);
            }
            else
            {
                FrameCodec.WriteText(frame, text, byteCount, options);
            }
            _queued += frameLength;
            _enqueued += frameLength;
            bool quiet = now - _lastSend > QuietTicks;
            _lastSend = now;
            if (quiet && !_writing && _queued == frameLength && _socket is not null && UnixSocketStream.Direct)
            {
                try
                {
                    ConsumeLocked(_socket.TryWrite(_queue.AsSpan(0, _queued)));
                }
                catch (Exception e)
                {
                    failed = e;
                }
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

    /// <summary>The first <paramref name="sent"/> queued bytes were written directly.</summary>
    private void ConsumeLocked(int sent)
    {
        if (sent > 0)
        {
            _queue.AsSpan(sent, _queued - sent).CopyTo(_queue);
            _queued -= sent;
            _written += sent;
            SignalLocked();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask EnqueueSlowAsync(ReadOnlyMemory<byte> payload, string? text, int byteCount, uint crc, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        int frameLength = FrameCodec.Overhead + (text is null ? payload.Length : byteCount);
        while (!TryEnqueue(payload.Span, text, byteCount, crc, options))
        {
            await WaitAsync(WaitKind.Room, frameLength, sync, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Grow(int needed)
    {
        int capacity = Math.Min(QueueLimit, Math.Max(needed, _queue.Length * 2));
        byte[] grown = GC.AllocateUninitializedArray<byte>(Math.Max(capacity, needed));
        _queue.AsSpan(0, _queued).CopyTo(grown);
        _queue = grown;
    }

    /// <summary>A large payload: waits until it owns the write side, writes what is queued ahead of it, then the frame in place.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteDirectAsync(ReadOnlyMemory<byte> payload, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        uint crc = options.Crc ? FrameCodec.ComputeCrc(payload.Span) : 0;
        while (true)
        {
            lock (_gate)
            {
                ThrowIfFailed();
                if (!_writing)
                {
                    _writing = true;
                    break;
                }
            }
            await WaitAsync(WaitKind.Idle, 0, sync, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await WriteQueuedAsOwnerAsync(sync).ConfigureAwait(false);
            int frameLength = FrameCodec.Overhead + payload.Length;
            lock (_gate)
            {
                _enqueued += frameLength;
            }
            FrameCodec.WriteHeader(_edges, (uint)payload.Length, options.ByteOrder);
            ReadOnlyMemory<byte> header = _edges.AsMemory(0, FrameCodec.HeaderLength);
            ReadOnlyMemory<byte> trailer = _edges.AsMemory(FrameCodec.HeaderLength, FrameCodec.CrcLength);
            _inFrame = true;
            FrameCodec.WriteCrcField(_edges.AsSpan(FrameCodec.HeaderLength), crc, options.ByteOrder);
            await WriteGatherAsync(header, payload, trailer, sync, cancellationToken).ConfigureAwait(false);
            _inFrame = false;
            lock (_gate)
            {
                _written += frameLength;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Fail(e);
            throw;
        }
        finally
        {
            ReleaseOwnership();
        }
    }

    /// <summary>Writes three buffers in order: one gather write (sendmsg) for what the socket takes at once, then the rest.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteGatherAsync(ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> trailer, bool sync, CancellationToken cancellationToken)
    {
        int total = header.Length + payload.Length + trailer.Length;
        int sent = 0;
        if (_socket is not null)
        {
            // Never blocks here: what the socket does not take at once goes through the stream below, so a server's
            // write watchdog (IdleWatchStream) sees a write that waits for the peer.
            sent = _socket.TryWriteGather(header.Span, payload.Span, trailer.Span, wait: false);
        }
        if (sent < total)
        {
            Advance(sent, header, payload, trailer, out ReadOnlyMemory<byte> a, out ReadOnlyMemory<byte> b, out ReadOnlyMemory<byte> c);
            await WritePartAsync(a, sync, cancellationToken).ConfigureAwait(false);
            await WritePartAsync(b, sync, cancellationToken).ConfigureAwait(false);
            await WritePartAsync(c, sync, cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask WritePartAsync(ReadOnlyMemory<byte> part, bool sync, CancellationToken cancellationToken)
    {
        if (part.IsEmpty)
        {
            return default;
        }
        if (sync)
        {
            _stream.Write(part.Span);
            return default;
        }
        return _stream.WriteAsync(part, cancellationToken);
    }

    /// <summary>The parts of header + payload + trailer left after the first <paramref name="sent"/> bytes.</summary>
    private static void Advance(int sent, ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> trailer,
        out ReadOnlyMemory<byte> a, out ReadOnlyMemory<byte> b, out ReadOnlyMemory<byte> c)
    {
        int h = Math.Min(sent, header.Length);
        a = header[h..];
        sent -= h;
        int p = Math.Min(sent, payload.Length);
        b = payload[p..];
        sent -= p;
        c = trailer[Math.Min(sent, trailer.Length)..];
    }

    // ---- writing what is queued ----

    private void ScheduleLocked()
    {
        if (!_writing && !_scheduled && _failure is null && _queued > 0)
        {
            _scheduled = true;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>The background flush: owns the write side while there is something queued.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        lock (_gate)
        {
            _scheduled = false;
            if (_writing || _queued == 0 || _failure is not null)
            {
                return;
            }
            _writing = true;
        }
        BackgroundLoop();
    }

    /// <summary>Writes chunk after chunk; when a write has to wait, continues from its completion (no allocation either way).</summary>
    private void BackgroundLoop()
    {
        while (true)
        {
            byte[] chunk;
            int count;
            lock (_gate)
            {
                if (_queued == 0 || _failure is not null)
                {
                    _writing = false;
                    SignalLocked();
                    ScheduleLocked();
                    return;
                }
                (chunk, count) = TakeQueueLocked();
            }
            ValueTask write;
            try
            {
                write = _stream.WriteAsync(chunk.AsMemory(0, count));
            }
            catch (Exception e)
            {
                Fail(e);
                ReleaseOwnership();
                return;
            }
            if (!write.IsCompleted)
            {
                _backgroundWrite = write;
                _backgroundCount = count;
                write.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onBackgroundWriteCompleted);
                return;
            }
            if (!CompleteBackgroundWrite(write, count))
            {
                return;
            }
        }
    }

    private void OnBackgroundWriteCompleted()
    {
        ValueTask write = _backgroundWrite;
        _backgroundWrite = default;
        if (CompleteBackgroundWrite(write, _backgroundCount))
        {
            BackgroundLoop();
        }
    }

    private bool CompleteBackgroundWrite(ValueTask write, int count)
    {
        try
        {
            write.GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            Fail(e);
            ReleaseOwnership();
            return false;
        }
        lock (_gate)
        {
            _written += count;
            SignalLocked();
        }
        return true;
    }

    /// <summary>Swaps the queue out for writing (the owner only; the spare buffer is free because the owner's previous write completed).</summary>
    private (byte[] Chunk, int Count) TakeQueueLocked()
    {
        byte[] chunk = _queue;
        int count = _queued;
        _queue = _spare;
        _spare = chunk;
        _queued = 0;
        SignalLocked(); // room for senders waiting on a full queue
        return (chunk, count);
    }

    /// <summary>The caller owns the write side: writes the queue until it is empty, keeping ownership.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteQueuedAsOwnerAsync(bool sync)
    {
        while (true)
        {
            byte[] chunk;
            int count;
            lock (_gate)
            {
                ThrowIfFailed();
                if (_queued == 0)
                {
                    return;
                }
                (chunk, count) = TakeQueueLocked();
            }
            if (sync)
            {
                _stream.Write(chunk, 0, count);
            }
            else
            {
                await _stream.WriteAsync(chunk.AsMemory(0, count)).ConfigureAwait(false);
            }
            lock (_gate)
            {
                _written += count;
                SignalLocked();
            }
        }
    }

    private void ReleaseOwnership()
    {
        lock (_gate)
        {
            _writing = false;
            _inFrame = false;
            SignalLocked();
            ScheduleLocked();
        }
    }

    /// <summary>
    /// Gets what is queued moving now: on Linux, one non-blocking send of the whole queue (the rest, if the socket is full,
    /// goes to the background flush), so a request or a read never waits here for the peer.
    /// </summary>
    public ValueTask PushAsync(bool sync)
    {
        if (Volatile.Read(ref _queued) == 0)
        {
            return default;
        }
        Exception? failed = null;
        lock (_gate)
        {
            if (_writing || _queued == 0 || _failure is not null)
            {
                return default;
            }
            if (_socket is not null && UnixSocketStream.Direct)
            {
                try
                {
                    ConsumeLocked(_socket.TryWrite(_queue.AsSpan(0, _queued)));
                    ScheduleLocked();
                    return default;
                }
                catch (Exception e)
                {
                    failed = e;
                }
            }
            else
            {
                _writing = true;
            }
        }
        if (failed is not null)
        {
            Fail(failed);
            return ValueTask.FromException(failed);
        }
        return PushAsOwnerAsync(sync);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PushAsOwnerAsync(bool sync)
    {
        try
        {
            await WriteQueuedAsOwnerAsync(sync).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
        finally
        {
            ReleaseOwnership();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync(bool sync, CancellationToken cancellationToken)
    {
        long target;
        lock (_gate)
        {
            ThrowIfFailed();
            target = _enqueued;
            if (_written >= target)
            {
                return;
            }
        }
        await PushAsync(sync).ConfigureAwait(false);
        lock (_gate)
        {
            ScheduleLocked();
        }
        await WaitAsync(WaitKind.Written, target, sync, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask FlushForCloseAsync(bool sync, TimeSpan stall)
    {
        long target;
        lock (_gate)
        {
            if (_failure is not null || _written >= _enqueued)
            {
                return;
            }
            target = _enqueued;
            ScheduleLocked();
        }
        long progress = -1;
        while (true)
        {
            long written = Interlocked.Read(ref _written);
            if (written >= target || written == progress)
            {
                return; // done, or no byte moved for a whole stall period: the peer is not reading
            }
            progress = written;
            using var timer = new CancellationTokenSource(stall);
            try
            {
                await WaitAsync(WaitKind.Written, target, sync, timer.Token).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException)
            {
                // Check for progress and wait again.
            }
            catch (IOException)
            {
                return; // the write failed; the connection reports it
            }
        }
    }

    // ---- failure and closing ----

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw new IOException("An earlier write on this connection failed; see the inner exception.", _failure);
        }
    }

    private void Fail(Exception error)
    {
        bool first;
        lock (_gate)
        {
            first = _failure is null;
            _failure ??= error;
            _queued = 0;
            SignalLocked();
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
            _queued = 0;
            SignalLocked();
        }
    }

    public void Dispose() => Close();

    // ---- waiting (allocation-free in steady state) ----

    private enum WaitKind
    {
        Room,
        Written,
        Idle,
    }

    private bool IsMetLocked(WaitKind kind, long value) => kind switch
    {
        WaitKind.Room => _queued == 0 || _queued + value <= QueueLimit,
        WaitKind.Written => _written >= value,
        _ => !_writing,
    };

    private void SignalLocked()
    {
        if (_syncWaiters > 0)
        {
            Monitor.PulseAll(_gate);
        }
        if (_waiters.Count > 0)
        {
            foreach (Waiter waiter in _waiters)
            {
                waiter.Wake(); // continuations run asynchronously, never under this lock
            }
            _waiters.Clear();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WaitAsync(WaitKind kind, long value, bool sync, CancellationToken cancellationToken)
    {
        if (sync)
        {
            WaitSync(kind, value, cancellationToken);
            return;
        }
        while (true)
        {
            Waiter waiter;
            lock (_gate)
            {
                if (IsMetLocked(kind, value))
                {
                    return;
                }
                ThrowIfFailed();
                cancellationToken.ThrowIfCancellationRequested();
                waiter = _idleWaiters.Count > 0 ? _idleWaiters.Pop() : new Waiter(this);
                _waiters.Add(waiter);
            }
            CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter)
                : default;
            try
            {
                await new ValueTask(waiter, waiter.Version).ConfigureAwait(false);
            }
            finally
            {
                registration.Dispose();
                waiter.Recycle();
            }
        }
    }

    private void WaitSync(WaitKind kind, long value, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            while (!IsMetLocked(kind, value))
            {
                ThrowIfFailed();
                cancellationToken.ThrowIfCancellationRequested();
                _syncWaiters++;
                try
                {
                    Monitor.Wait(_gate, cancellationToken.CanBeCanceled ? 50 : Timeout.Infinite);
                }
                finally
                {
                    _syncWaiters--;
                }
            }
        }
    }

    private sealed class Waiter(CoalescingFrameWriter owner) : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
        private int _done;

        public short Version => _core.Version;

        public void Wake()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                _core.SetResult(true);
            }
        }

        public void Cancel(CancellationToken token)
        {
            lock (owner._gate)
            {
                owner._waiters.Remove(this);
            }
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                _core.SetException(new OperationCanceledException(token));
            }
        }

        /// <summary>Back to the pool, once the await has consumed the result and the cancellation registration is gone.</summary>
        public void Recycle()
        {
            _core.Reset();
            _done = 0;
            lock (owner._gate)
            {
                owner._idleWaiters.Push(this);
            }
        }

        public void GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
