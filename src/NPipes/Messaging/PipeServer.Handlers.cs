using NPipes.Diagnostics;

namespace NPipes;

// Handler-based serving: the accept loop, one handler task per connection, and the request/response loop.
public sealed partial class PipeServer
{
    /// <summary>The longest pause between failed accepts (10 ms, doubling): a client is still accepted within a second of descriptors coming free.</summary>
    private const int MaxAcceptBackoffMs = 1000;

    private long _failedAccepts;

    /// <summary>Accepts that failed (reported through <see cref="Error"/> and the AcceptFailed log event) and were retried after a pause: for example when the process ran out of file descriptors.</summary>
    public long FailedAccepts => Interlocked.Read(ref _failedAccepts);

    /// <summary>
    /// Accepts clients and runs <paramref name="handler"/> for each, concurrently, until the server is stopped
    /// (<see cref="StopAsync"/>, <see cref="DisposeAsync"/>) or <paramref name="cancellationToken"/> fires (which stops it
    /// with <see cref="PipeServerOptions.DrainTimeout"/>). Returns, without throwing, once stopped and drained.
    /// </summary>
    /// <remarks>
    /// The handler's token is <see cref="Stopping"/>: it fires when stopping begins, so a handler waiting for the next
    /// message can give up; the connection stays open until the drain deadline, so a handler can still finish a reply (do
    /// not pass the token to that last send). When the handler returns the connection is closed. A handler's exception is
    /// reported through <see cref="Error"/> and closes only its own connection.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public async Task RunAsync(Func<PipeConnection, CancellationToken, Task> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("The server is already running.");
        }
        try
        {
            using CancellationTokenRegistration stopOnCancel = cancellationToken.Register(static s => _ = ((PipeServer)s!).StopAsync(((PipeServer)s!).Options.DrainTimeout), this);
            int backoff = 0; // ms; doubles while accepts keep failing, back to 0 after one succeeds
            // The backoff's Task.Delay needs the runtime's timer thread, and starting a thread needs a file descriptor:
            // start it now, not in the middle of the descriptor exhaustion the backoff is for (it then threw
            // OutOfMemoryException out of this loop).
            _ = Task.Delay(1, CancellationToken.None);
            while (!_stopping.IsCancellationRequested)
            {
                PipeConnection connection;
                try
                {
                    connection = await AcceptAsync(CancellationToken.None).ConfigureAwait(false);
                    backoff = 0;
                }
                catch (ObjectDisposedException) when (_stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    // A failed accept (a client that vanished mid-handshake, or no descriptor left: EMFILE/ENFILE) must not
                    // end the server: report it, count it, back off (the pending client stays queued, so retrying at once
                    // would spin) and accept again; the connections already open are served meanwhile.
                    Interlocked.Increment(ref _failedAccepts);
                    ReportError(null, e);
                    backoff = Math.Min(backoff == 0 ? 10 : backoff * 2, MaxAcceptBackoffMs);
                    await Task.Delay(backoff, _stopping.Token).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                    continue;
                }
                Task running = RunHandlerAsync(connection, handler);
                _handlers[connection] = running;
                // Forget it once done (registered after adding, so a handler that finishes at once is still removed).
                _ = running.ContinueWith(_ => _handlers.TryRemove(connection, out Task? _), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        finally
        {
            _acceptLoopDone.TrySetResult();
        }
        await StopAsync(Options.DrainTimeout, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Serves request/response: for each message a client sends, awaits <paramref name="handler"/> and sends its return
    /// value as the reply, in order (a connection's requests are handled one after another, so pipelined replies stay in
    /// FIFO order). The reply may alias the request's payload (it is sent before the request's buffer is recycled).
    /// The handler's token fires only at the drain deadline, so a request in progress when stopping begins is completed.
    /// Stops as <see cref="RunAsync"/> does.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
#pragma warning disable RS0027 // the (connection, request) overload takes a required token: no call of 0.2.0 changes meaning
    public Task ServeRequestsAsync(Func<PipeMessage, CancellationToken, ValueTask<ReadOnlyMemory<byte>>> handler, CancellationToken cancellationToken = default)
#pragma warning restore RS0027
    {
        ArgumentNullException.ThrowIfNull(handler);
        return ServeRequestsAsync((_, request, token) => handler(request, token), cancellationToken);
    }

    /// <summary>
    /// <see cref="ServeRequestsAsync(Func{PipeMessage, CancellationToken, ValueTask{ReadOnlyMemory{byte}}}, CancellationToken)"/>
    /// with the connection each request came on, so a handler can decide per request by <see cref="PipeConnection.Peer"/>
    /// (who is calling). The handler must not receive on the connection; sending on it is allowed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public Task ServeRequestsAsync(Func<PipeConnection, PipeMessage, CancellationToken, ValueTask<ReadOnlyMemory<byte>>> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return RunAsync((connection, stopping) => ServeConnectionAsync(connection, async (request, token) =>
            await connection.SendAsync(await handler(connection, request, token).ConfigureAwait(false), token).ConfigureAwait(false), stopping), cancellationToken);
    }

    /// <summary>Text twin of <see cref="ServeRequestsAsync(Func{PipeMessage, CancellationToken, ValueTask{ReadOnlyMemory{byte}}}, CancellationToken)"/>, in the configured encoding.
    /// A request that is not valid text is reported through <see cref="Error"/> and closes its connection.</summary>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
#pragma warning disable RS0027 // the (connection, request) overload takes a required token: no call of 0.2.0 changes meaning
    public Task ServeRequestsAsync(Func<string, CancellationToken, ValueTask<string>> handler, CancellationToken cancellationToken = default)
#pragma warning restore RS0027
    {
        ArgumentNullException.ThrowIfNull(handler);
        return ServeRequestsAsync((_, request, token) => handler(request, token), cancellationToken);
    }

    /// <summary>Text twin of <see cref="ServeRequestsAsync(Func{PipeConnection, PipeMessage, CancellationToken, ValueTask{ReadOnlyMemory{byte}}}, CancellationToken)"/>:
    /// each request with the connection it came on (<see cref="PipeConnection.Peer"/>: who is calling).</summary>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public Task ServeRequestsAsync(Func<PipeConnection, string, CancellationToken, ValueTask<string>> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return RunAsync((connection, stopping) => ServeConnectionAsync(connection, async (request, token) =>
            await connection.SendAsync(await handler(connection, request.GetText(), token).ConfigureAwait(false), token).ConfigureAwait(false), stopping), cancellationToken);
    }

    private async Task RunHandlerAsync(PipeConnection connection, Func<PipeConnection, CancellationToken, Task> handler)
    {
        await Task.Yield(); // the handler's synchronous part must not hold up the accept loop
        try
        {
            await handler(connection, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ReportError(connection, e);
        }
        finally
        {
            connection.Dispose();
        }
    }

    /// <summary>The request loop: receive (giving up when stopping), then answer (bounded only by the drain deadline).</summary>
    private async Task ServeConnectionAsync(PipeConnection connection, Func<PipeMessage, CancellationToken, ValueTask> answer, CancellationToken stopping)
    {
        while (true)
        {
            PipeMessage? request;
            try
            {
                request = await connection.ReceiveAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return; // stopping, and no request was in progress (a half-received one closed the connection)
            }
            if (request is null)
            {
                return; // the client closed cleanly
            }
            using (request)
            {
                using RequestScope scope = _telemetry.StartRequest(server: true);
                await answer(request, _aborting.Token).ConfigureAwait(false);
                scope.Complete();
            }
        }
    }
}
