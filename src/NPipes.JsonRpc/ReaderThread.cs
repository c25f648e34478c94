using System.Buffers;
using System.Threading.Tasks.Sources;

namespace NPipes;

/// <summary>
/// Receives a handler's frames on a thread of its own that waits in the connection's blocking receive, and completes
/// each read on that thread, so <see cref="StreamJsonRpc.JsonRpc"/>'s read loop (deserializing, then dispatching to the
/// thread pool) runs on it too. A frame then wakes one thread (this one, from the kernel), where an asynchronous
/// receive wakes the socket engine's thread and then a pool thread: on a ping-pong of small calls this is most of the
/// difference to StreamJsonRpc over a raw stream (bench/README.md, <c>rpc_pingpong</c>).
/// </summary>
/// <remarks>
/// <para>Used only where the handler's connection is closed when its <see cref="StreamJsonRpc.JsonRpc"/> ends (the handler
/// owns it, or the server serving it closes it): a blocking receive has no cancellation, so a cancelled or stopped read
/// completes at once for its caller while the thread stays in the receive until the close wakes it. A frame that
/// arrives after that is dropped, never handed to anyone (a graceful stop must not dispatch it), and the reader accepts
/// no further reads.</para>
/// <para>One read at a time, as <see cref="StreamJsonRpc.MessageHandlerBase"/> guarantees. The thread is started on the
/// first read and ends with the connection.</para>
/// </remarks>
internal sealed class ReaderThread : IValueTaskSource<int>
{
    private readonly PipeConnection _connection;
    private readonly object _gate = new(); // a monitor: the thread waits on it for the next read
    private ManualResetValueTaskSourceCore<int> _core; // continuations run on the completing thread, by design
    private Thread? _thread;
    private IBufferWriter<byte>? _requested; // the pending read's destination, until the thread takes it
    private bool _pending;                    // a read was asked for and is not completed yet
    private bool _abandoned;                  // a read was cancelled while the thread may be in a receive
    private CancellationTokenRegistration _registration;

    public ReaderThread(PipeConnection connection) => _connection = connection;

    /// <summary>The thread, once the first read started it (tests watch it end).</summary>
    internal Thread? Thread
    {
        get
        {
            lock (_gate)
            {
                return _thread;
            }
        }
    }

    /// <summary>Receives the next frame's payload into <paramref name="destination"/>; its length, or -1 at a clean end.</summary>
    public ValueTask<int> ReceiveAsync(IBufferWriter<byte> destination, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_abandoned)
            {
                throw new OperationCanceledException("An earlier read was cancelled or the reader stopped; this connection reads no more.");
            }
            _core.Reset();
            _pending = true;
            _requested = destination;
            // Inside the lock, before the thread can take the read: a token that fires meanwhile completes it (the
            // callback runs here at once if it already has; the monitor is reentrant).
            _registration = cancellationToken.UnsafeRegister(static (s, token) => ((ReaderThread)s!).Cancel(token), this);
            if (_thread is null)
            {
                _thread = new Thread(static s => ((ReaderThread)s!).Run()) { IsBackground = true, Name = "NPipes.JsonRpc reader" };
                _thread.Start(this);
            }
            else
            {
                Monitor.Pulse(_gate);
            }
        }
        return new ValueTask<int>(this, _core.Version);
    }

    /// <summary>No more reads: a waiting thread ends now, one in a receive when the connection closes.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _abandoned = true;
            Monitor.Pulse(_gate);
        }
    }

    private void Cancel(CancellationToken token)
    {
        lock (_gate)
        {
            if (!_pending)
            {
                return;
            }
            _pending = false;
            _abandoned = true; // the thread may be in the receive: what it gets is no one's
            _requested = null;
            Monitor.Pulse(_gate); // or, if it had not taken the read yet, it ends now
        }
        _core.SetException(new OperationCanceledException(token));
    }

    private void Run()
    {
        while (true)
        {
            IBufferWriter<byte> destination;
            lock (_gate)
            {
                while (_requested is null && !_abandoned)
                {
                    Monitor.Wait(_gate);
                }
                if (_abandoned)
                {
                    return;
                }
                destination = _requested!;
                _requested = null;
            }
            int length = 0;
            Exception? error = null;
            try
            {
                length = _connection.ReceiveInto(destination);
            }
            catch (Exception e)
            {
                error = e;
            }
            CancellationTokenRegistration registration;
            lock (_gate)
            {
                if (!_pending)
                {
                    return; // cancelled meanwhile: drop what arrived
                }
                _pending = false;
                registration = _registration;
                _registration = default;
            }
            registration.Dispose(); // the callback, if running now, finds nothing pending
            if (error is not null)
            {
                _core.SetException(error);
                return;
            }
            // The caller's continuation runs here, and with it the JSON-RPC read loop, up to its next read (which asks
            // this thread again) or its first await that does not complete at once.
            _core.SetResult(length);
            if (length < 0)
            {
                return;
            }
        }
    }

    int IValueTaskSource<int>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
