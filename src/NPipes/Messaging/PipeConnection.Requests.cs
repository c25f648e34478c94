using NPipes.Diagnostics;
using NPipes.Messaging;
using NPipes.Transport;

namespace NPipes;

// Request/response. A frame has no id, so a reply is matched to its request by position (FIFO): requests are queued in
// the order their frames are written, and the request at the head of the queue reads the next frame as its reply, then
// hands the turn to the next. No background reader is needed, so plain Send/Receive users pay nothing, and a sync
// ping-pong reads on the caller's own thread.
public sealed partial class PipeConnection
{
    private readonly Lock _requestGate = new();
    private readonly LinkedList<ReplySlot> _pendingReplies = new();
    private readonly SemaphoreSlim _requestOrder = new(1, 1); // makes "enqueue, then write" one step, so queue order is wire order
    private int _closedHookRan;
    private Action<PipeConnection>? _closedCallback;

    /// <summary>How many requests have been written (or are being written) and still wait for their reply.</summary>
    public int PendingRequests
    {
        get
        {
            lock (_requestGate)
            {
                return _pendingReplies.Count;
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> and returns the peer's next unclaimed message as its reply. Several requests may
    /// be in flight at once (pipelining); replies are matched in FIFO order, as the peer must answer in order.
    /// </summary>
    /// <remarks>
    /// Once a request's frame has been written its reply will arrive sooner or later, and frames carry no id; so if a
    /// request is cancelled or times out after being written, the only way to make sure no later caller receives the
    /// wrong reply is to close the connection. It is then closed with <see cref="DisconnectReason.Aborted"/>, the
    /// cancelled call throws <see cref="OperationCanceledException"/> (or <see cref="TimeoutException"/>), and every other
    /// request in flight fails with <see cref="ConnectionClosedException"/>. A request cancelled before any of its bytes
    /// were written is simply withdrawn and the connection stays open. Do not call <see cref="ReceiveAsync"/> on a
    /// connection used for requests: it would take a reply (the second reader gets <see cref="InvalidOperationException"/>
    /// and the connection is aborted). Dispose the returned message to recycle its buffer.
    /// </remarks>
    /// <exception cref="FrameTooLargeException">The request exceeds the payload limit; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection closed (either side) before the reply arrived, including
    /// because another request in flight was cancelled (<see cref="DisconnectReason.Aborted"/>).</exception>
    /// <exception cref="FrameException">The reply frame was invalid; the connection is closed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; if the request had been written, the connection is closed.</exception>
    public ValueTask<PipeMessage> RequestAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken = default) =>
        RequestCoreAsync(request, null, Timeout.InfiniteTimeSpan, sync: false, cancellationToken);

    /// <summary>As <see cref="RequestAsync(ReadOnlyMemory{byte}, CancellationToken)"/>, failing after <paramref name="timeout"/>.</summary>
    /// <exception cref="TimeoutException">No reply within the timeout; if the request had been written, the connection is closed (see remarks of the overload without timeout).</exception>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public ValueTask<PipeMessage> RequestAsync(ReadOnlyMemory<byte> request, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RequestCoreAsync(request, null, timeout, sync: false, cancellationToken);

    /// <summary>Text request/response in the configured encoding; same ordering and cancellation rules as <see cref="RequestAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    /// <exception cref="InvalidTextException">The request cannot be encoded (nothing sent), or the reply is not valid text (the connection stays open).</exception>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; if the request had been written, the connection is closed.</exception>
    public ValueTask<string> RequestAsync(string request, CancellationToken cancellationToken = default) =>
        RequestAsync(request, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>Text request/response with a timeout; see <see cref="RequestAsync(ReadOnlyMemory{byte}, TimeSpan, CancellationToken)"/>.</summary>
    /// <exception cref="TimeoutException">No reply within the timeout; if the request had been written, the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    public async ValueTask<string> RequestAsync(string request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using PipeMessage reply = await RequestCoreAsync(default, request, timeout, sync: false, cancellationToken).ConfigureAwait(false);
        return reply.GetText();
    }

    /// <summary>
    /// Synchronous twin of <see cref="RequestAsync(ReadOnlyMemory{byte}, CancellationToken)"/>: the same operation and
    /// ordering rules, writing and reading on the calling thread; no cancellation token.
    /// </summary>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    /// <exception cref="FrameException">The reply frame was invalid; the connection is closed.</exception>
    public PipeMessage Request(ReadOnlyMemory<byte> request) =>
        SyncTwin.Wait(RequestCoreAsync(request, null, Timeout.InfiniteTimeSpan, sync: true, default));

    /// <summary>
    /// Synchronous twin of <see cref="RequestAsync(ReadOnlyMemory{byte}, TimeSpan, CancellationToken)"/>: writing and
    /// reading on the calling thread; on timeout after writing, the connection is closed (<see cref="DisconnectReason.Aborted"/>).
    /// </summary>
    /// <exception cref="TimeoutException">No reply within the timeout.</exception>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    public PipeMessage Request(ReadOnlyMemory<byte> request, TimeSpan timeout) =>
        SyncTwin.Wait(RequestCoreAsync(request, null, timeout, sync: true, default));

    /// <summary>
    /// Synchronous twin of <see cref="RequestAsync(string, CancellationToken)"/>: writing and reading on the calling
    /// thread; no cancellation token.
    /// </summary>
    /// <exception cref="InvalidTextException">The request cannot be encoded, or the reply is not valid text.</exception>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    public string Request(string request) => Request(request, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Synchronous twin of <see cref="RequestAsync(string, TimeSpan, CancellationToken)"/>: writing and reading on the
    /// calling thread; no cancellation token.
    /// </summary>
    /// <exception cref="TimeoutException">No reply within the timeout; the connection is closed if the request had been written.</exception>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    public string Request(string request, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(request);
        using PipeMessage reply = SyncTwin.Wait(RequestCoreAsync(default, request, timeout, sync: true, default));
        return reply.GetText();
    }

    /// <summary>Lets a server learn when the connection closes, whoever closed it. Runs at once if it already has.</summary>
    internal void SetClosedCallback(Action<PipeConnection> callback)
    {
        Volatile.Write(ref _closedCallback, callback);
        if (Volatile.Read(ref _closedHookRan) == 1)
        {
            Interlocked.Exchange(ref _closedCallback, null)?.Invoke(this);
        }
    }

    /// <summary>How long the frame being received has been arriving since its first byte; zero between frames (server watchdog).</summary>
    internal TimeSpan FrameInProgress => _reader.FrameInProgress;

    /// <summary>Closes with a given reason (used by the server's idle watchdog).</summary>
    internal void CloseWith(DisconnectReason reason) => Close(reason);

    /// <summary>Runs once, after the stream is closed: fails the requests in flight and tells the server.</summary>
    private void OnClosed()
    {
        if (Interlocked.Exchange(ref _closedHookRan, 1) == 1)
        {
            return;
        }
        FailPendingRequests();
        Telemetry.Closed(DisconnectReason);
        Interlocked.Exchange(ref _closedCallback, null)?.Invoke(this);
    }

    private async ValueTask<PipeMessage> RequestCoreAsync(ReadOnlyMemory<byte> payload, string? text, TimeSpan timeout, bool sync, CancellationToken cancellationToken)
    {
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfClosed();
        // Check the size before queueing, so an oversized request is refused with nothing sent and nothing disturbed.
        FrameCodec.CheckPayloadLength(text is null ? payload.Length : FrameCodec.GetByteCount(text, Options.Frame), Options.Frame);

        // Any length of timeout (a timer alone refuses more than 49.7 days); one past the clock's range never fires.
        using CancellationTokenSource? timer = Deadline.After(timeout).Link(CancellationToken.None, out _);
        using CancellationTokenSource? linked = timer is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        CancellationToken token = linked?.Token ?? cancellationToken;
        using RequestScope scope = Telemetry.Pipe.StartRequest(server: false);
        var slot = new ReplySlot();
        try
        {
            try
            {
                await WriteRequestAsync(slot, payload, text, sync, token).ConfigureAwait(false);
            }
            catch (ConnectionClosedException e) when (e.Reason is DisconnectReason.IOError or DisconnectReason.PeerClosed && e.InnerException is not null && !token.IsCancellationRequested)
            {
                // The peer closed while the frame was going out: a server refuses a frame over its limit from the header.
                string detail = e.InnerException!.Message.TrimEnd('.');
                throw new ConnectionClosedException(e.Reason, MismatchHint.CutWhileSending(detail), e);
            }
            // The request is on the wire: its reply will come. Giving up now means closing the connection, which is also
            // how a blocked read (sync or async) is interrupted.
            using (token.CanBeCanceled ? token.Register(static s => ((PipeConnection)s!).Close(DisconnectReason.Aborted), this) : default)
            {
                if (sync)
                {
                    slot.Turn.GetAwaiter().GetResult();
                }
                else
                {
                    await slot.Turn.ConfigureAwait(false);
                }
                // The frame format has no error reply: a server that cannot read a request's frame can only close the connection.
                PipeMessage reply = await ReceiveCoreAsync(sync, CancellationToken.None).ConfigureAwait(false)
                    ?? throw (DisconnectReason == DisconnectReason.PeerClosed
                        ? new ConnectionClosedException(DisconnectReason.PeerClosed, MismatchHint.NoReply)
                        : new ConnectionClosedException(DisconnectReason));
                PassTurn(slot);
                scope.Complete();
                return reply;
            }
        }
        catch (Exception e) when (token.IsCancellationRequested && e is not FrameTooLargeException)
        {
            if (timer is { IsCancellationRequested: true } && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"No reply within {timeout.TotalSeconds:0.###} s" + (IsConnected ? "." : "; the connection was closed so no later request can receive this reply."), e);
            }
            throw e as OperationCanceledException ?? new OperationCanceledException("The request was cancelled; the connection was closed so no later request can receive its reply.", e, cancellationToken);
        }
        catch (InvalidOperationException)
        {
            // Someone else is receiving on this connection: reply order can no longer be trusted.
            Close(DisconnectReason.Aborted);
            throw;
        }
    }

    /// <summary>Queues the slot and writes its frame as one step; withdraws the slot if nothing was written.</summary>
    private async ValueTask WriteRequestAsync(ReplySlot slot, ReadOnlyMemory<byte> payload, string? text, bool sync, CancellationToken cancellationToken)
    {
        if (sync)
        {
            _requestOrder.Wait(cancellationToken);
        }
        else
        {
            await _requestOrder.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            LinkedListNode<ReplySlot> node;
            lock (_requestGate)
            {
                ThrowIfClosed();
                node = _pendingReplies.AddLast(slot);
                if (node == _pendingReplies.First)
                {
                    slot.GiveTurn();
                }
            }
            try
            {
                await SendCoreAsync(payload, text, push: true, sync, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // A partly written frame already closed the connection (failing every slot). Otherwise nothing went out:
                // withdraw this slot, which is the tail (we hold the order lock), so nobody's position changes.
                lock (_requestGate)
                {
                    if (node.List is not null)
                    {
                        _pendingReplies.Remove(node);
                    }
                }
                throw;
            }
        }
        finally
        {
            _requestOrder.Release();
        }
    }

    /// <summary>The head got its reply: dequeue it and let the next request read.</summary>
    private void PassTurn(ReplySlot slot)
    {
        ReplySlot? next = null;
        lock (_requestGate)
        {
            if (_pendingReplies.First?.Value == slot)
            {
                _pendingReplies.RemoveFirst();
                next = _pendingReplies.First?.Value;
            }
        }
        next?.GiveTurn();
    }

    private void FailPendingRequests()
    {
        ReplySlot[] slots;
        lock (_requestGate)
        {
            if (_pendingReplies.Count == 0)
            {
                return;
            }
            slots = [.. _pendingReplies];
            _pendingReplies.Clear();
        }
        foreach (ReplySlot slot in slots)
        {
            slot.Fail(new ConnectionClosedException(DisconnectReason));
        }
    }
}
