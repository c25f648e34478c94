using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using NPipes.Diagnostics;
using NPipes.Messaging;
using NPipes.Transport;

namespace NPipes;

/// <summary>
/// A server on one pipe name serving many clients at once, each connection independently: a client that never sends,
/// stops half-way through a frame, or sends garbage affects only its own connection.
/// </summary>
/// <remarks>
/// <para>Use it handler-based (<see cref="RunAsync"/>, <see cref="ServeRequestsAsync(Func{PipeMessage, CancellationToken, ValueTask{ReadOnlyMemory{byte}}}, CancellationToken)"/>)
/// or pull-based (<see cref="AcceptAsync"/>, <see cref="AcceptAllAsync"/>), not both.</para>
/// <para>Connection limit: a client beyond <see cref="PipeServerOptions.MaxConnections"/> is accepted and closed at once,
/// before any byte is read or written, and counted in <see cref="RefusedConnections"/>. That client's connect succeeds;
/// then its first receive ends the connection: on Unix a clean end of stream (<see cref="PipeConnection.ReceiveAsync"/>
/// returns null) or, if it had already written, <see cref="ConnectionClosedException"/> (the OS reports a reset); on
/// Windows <see cref="ConnectionClosedException"/> or null. A send may appear to succeed (the bytes are discarded) or fail
/// with <see cref="ConnectionClosedException"/>; a request always fails with <see cref="ConnectionClosedException"/>.
/// Nothing the refused client sent is ever processed.</para>
/// <para>Errors: a handler that throws, or a connection that fails, is reported through <see cref="Error"/> and its
/// connection is closed; the server keeps serving the others.</para>
/// </remarks>
public sealed class PipeServer : IAsyncDisposable
{
    private readonly PipeListener _listener;
    private readonly SemaphoreSlim _acceptLock = new(1, 1); // the listener serves one accept at a time
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _aborting = new();
    private readonly ConcurrentDictionary<PipeConnection, IdleWatchStream?> _connections = new();
    private readonly ConcurrentDictionary<PipeConnection, Task> _handlers = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _acceptLoopDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Timer? _watchdog;
    private readonly PipeTelemetry _telemetry;
    private Task? _stopTask;
    private int _active;
    private long _refused;
    private int _running;

    private PipeServer(string pipeName, PipeServerOptions options, PipeListener listener)
    {
        PipeName = pipeName;
        Options = options;
        _listener = listener;
        _telemetry = PipeTelemetry.For(pipeName, options);
        listener.AccessRefused = _telemetry.RefusedByAccess;
        _telemetry.Listening(options.MaxConnections);
        if (options.IdleTimeout != Timeout.InfiniteTimeSpan || options.WriteTimeout != Timeout.InfiniteTimeSpan || options.FrameTimeout != Timeout.InfiniteTimeSpan)
        {
            // One timer scans every connection, a few times per timeout: cheaper than a timer per read.
            static long Ticks(TimeSpan t) => t == Timeout.InfiniteTimeSpan ? long.MaxValue : t.Ticks;
            long shortest = Math.Min(Ticks(options.IdleTimeout), Math.Min(Ticks(options.WriteTimeout), Ticks(options.FrameTimeout)));
            TimeSpan period = TimeSpan.FromTicks(Math.Clamp(shortest / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
            _watchdog = new Timer(static s => ((PipeServer)s!).CloseIdleConnections(), this, period, period);
        }
    }

    /// <summary>Starts listening on <paramref name="pipeName"/> (the name is held from now until the server stops).</summary>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    /// <exception cref="PipeNameInUseException">Another live server holds the name.</exception>
    public static PipeServer Listen(string pipeName, PipeServerOptions? options = null)
    {
        options ??= PipeServerOptions.Default;
        NPipesOptions connection = options.Connection;
        PipeListener listener = PipeListener.Create(pipeName, new ListenOptions(connection.CurrentUserOnly, connection.PipeBufferSize, MaxInstances: -1));
        return new PipeServer(pipeName, options, listener);
    }

    /// <summary>Raised for every error the server contained (handler exceptions, failed connections, failed accepts).
    /// Raised on the connection's own thread; an exception thrown by a subscriber is ignored so the server keeps running.</summary>
    public event EventHandler<PipeServerErrorEventArgs>? Error;

    /// <summary>The pipe name.</summary>
    public string PipeName { get; }

    /// <summary>The options in force.</summary>
    public PipeServerOptions Options { get; }

    /// <summary>Connections open now (accepted and not yet closed).</summary>
    public int ActiveConnections => Volatile.Read(ref _active);

    /// <summary>Clients refused because <see cref="PipeServerOptions.MaxConnections"/> were open.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refused);

    /// <summary>Fires when the server begins to stop; handlers get it as their token.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Waits for the next client. The connection counts against the limit until it is closed: dispose it when done.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The server is stopping or stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async ValueTask<PipeConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            await _acceptLock.WaitAsync(linked.Token).ConfigureAwait(false);
            try
            {
                while (true)
                {
                    Stream stream = await _listener.AcceptAsync(linked.Token).ConfigureAwait(false);
                    if (Interlocked.Increment(ref _active) <= Options.MaxConnections)
                    {
                        return Track(stream);
                    }
                    // Over the limit: close before reading or writing anything, so nothing of this client is processed.
                    Interlocked.Decrement(ref _active);
                    Interlocked.Increment(ref _refused);
                    _telemetry.RefusedByLimit(stream);
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                _acceptLock.Release();
            }
        }
        catch (Exception e) when (_stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException($"The pipe server on '{PipeName}' is stopping.", e);
        }
    }

    /// <summary>Every client as it connects, until the server stops or <paramref name="cancellationToken"/> fires (then the sequence just ends).</summary>
    public async IAsyncEnumerable<PipeConnection> AcceptAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            PipeConnection connection;
            try
            {
                connection = await AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (_stopping.IsCancellationRequested)
            {
                yield break;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
            yield return connection;
        }
    }

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
            while (!_stopping.IsCancellationRequested)
            {
                PipeConnection connection;
                try
                {
                    connection = await AcceptAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (ObjectDisposedException) when (_stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    // A failed accept (for example a client that vanished mid-handshake) must not end the server.
                    ReportError(null, e);
                    await Task.Delay(10, _stopping.Token).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
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
    public Task ServeRequestsAsync(Func<PipeMessage, CancellationToken, ValueTask<ReadOnlyMemory<byte>>> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return RunAsync((connection, stopping) => ServeConnectionAsync(connection, async (request, token) =>
            await connection.SendAsync(await handler(request, token).ConfigureAwait(false), token).ConfigureAwait(false), stopping), cancellationToken);
    }

    /// <summary>Text twin of <see cref="ServeRequestsAsync(Func{PipeMessage, CancellationToken, ValueTask{ReadOnlyMemory{byte}}}, CancellationToken)"/>, in the configured encoding.
    /// A request that is not valid text is reported through <see cref="Error"/> and closes its connection.</summary>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public Task ServeRequestsAsync(Func<string, CancellationToken, ValueTask<string>> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return RunAsync((connection, stopping) => ServeConnectionAsync(connection, async (request, token) =>
            await connection.SendAsync(await handler(request.GetText(), token).ConfigureAwait(false), token).ConfigureAwait(false), stopping), cancellationToken);
    }

    /// <summary>
    /// Stops gracefully: fires <see cref="Stopping"/> before returning, stops accepting and releases the name as soon as an
    /// accept in progress has ended (promptly), lets connections finish for up to <paramref name="drainTimeout"/>, then closes the rest (their pending I/O fails with
    /// <see cref="ConnectionClosedException"/>, reason <see cref="DisconnectReason.LocalClose"/>) and waits for handlers to
    /// return. Calling it again returns the same stop. Do not await it from inside a handler: the stop waits for that
    /// handler to return (fire it and return instead).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; the stop carries on in the background.</exception>
    public Task StopAsync(TimeSpan drainTimeout, CancellationToken cancellationToken = default)
    {
        if (drainTimeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(drainTimeout, TimeSpan.Zero);
        }
        Task? stop = Volatile.Read(ref _stopTask);
        if (stop is null)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            stop = Interlocked.CompareExchange(ref _stopTask, done.Task, null) ?? done.Task;
            if (stop == done.Task)
            {
                // The first caller starts the stop on its own thread, outside any lock, so Stopping has fired when this returns.
                _ = RunStopAsync(drainTimeout, done);
            }
        }
        return stop.WaitAsync(cancellationToken);
    }

    /// <summary>Stops with <see cref="PipeServerOptions.DrainTimeout"/>; see <see cref="StopAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await StopAsync(Options.DrainTimeout, CancellationToken.None).ConfigureAwait(false);

    private async Task RunStopAsync(TimeSpan drainTimeout, TaskCompletionSource done)
    {
        try
        {
            await StopCoreAsync(drainTimeout).ConfigureAwait(false);
            done.SetResult();
        }
        catch (Exception e)
        {
            done.SetException(e);
        }
    }

    private async Task StopCoreAsync(TimeSpan drainTimeout)
    {
        try
        {
            _stopping.Cancel();
        }
        catch (AggregateException e)
        {
            ReportError(null, e);
        }
        // Release the name as soon as an accept in progress has seen the cancellation (disposing under it could leave a
        // Windows instance created after the dispose, holding the name).
        await _acceptLock.WaitAsync().ConfigureAwait(false);
        _listener.Dispose();
        _acceptLock.Release();
        if (Volatile.Read(ref _running) == 1)
        {
            await _acceptLoopDone.Task.ConfigureAwait(false);
        }
        if (_connections.IsEmpty)
        {
            _drained.TrySetResult();
        }
        try
        {
            await _drained.Task.WaitAsync(drainTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Deadline passed: close what is left below.
            _telemetry.DrainDeadlinePassed(_connections.Count);
        }
        _aborting.Cancel();
        foreach (PipeConnection connection in _connections.Keys)
        {
            connection.Dispose();
        }
        await Task.WhenAll(_handlers.Values).ConfigureAwait(false); // handlers catch their own errors, so this never throws
        if (_watchdog is not null)
        {
            await _watchdog.DisposeAsync().ConfigureAwait(false);
        }
        _telemetry.Stopped();
    }

    private PipeConnection Track(Stream stream)
    {
        IdleWatchStream? watch = Options.IdleTimeout == Timeout.InfiniteTimeSpan && Options.WriteTimeout == Timeout.InfiniteTimeSpan ? null : new IdleWatchStream(stream);
        var connection = new PipeConnection(watch ?? stream, PipeName, Options.Connection, _telemetry);
        _telemetry.Accepted(connection.Telemetry);
        _connections[connection] = watch;
        connection.SetClosedCallback(OnConnectionClosed);
        return connection;
    }

    private void OnConnectionClosed(PipeConnection connection)
    {
        if (_connections.TryRemove(connection, out _))
        {
            Interlocked.Decrement(ref _active);
        }
        if (_stopping.IsCancellationRequested && _connections.IsEmpty)
        {
            _drained.TrySetResult();
        }
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

    private void CloseIdleConnections()
    {
        foreach ((PipeConnection connection, IdleWatchStream? watch) in _connections)
        {
            if (Options.FrameTimeout != Timeout.InfiniteTimeSpan && connection.FrameInProgress >= Options.FrameTimeout)
            {
                connection.CloseWith(DisconnectReason.FrameTimeout);
                continue;
            }
            if (watch is null)
            {
                continue;
            }
            if (Options.IdleTimeout != Timeout.InfiniteTimeSpan && watch.ReadWaiting >= Options.IdleTimeout)
            {
                connection.CloseWith(DisconnectReason.IdleTimeout);
            }
            else if (Options.WriteTimeout != Timeout.InfiniteTimeSpan && watch.WriteWaiting >= Options.WriteTimeout)
            {
                connection.CloseWith(DisconnectReason.WriteTimeout);
            }
        }
    }

    private void ReportError(PipeConnection? connection, Exception exception)
    {
        _telemetry.Failed(connection?.Telemetry, exception);
        try
        {
            Error?.Invoke(this, new PipeServerErrorEventArgs(connection, exception));
        }
        catch (Exception)
        {
            // A failing subscriber must not take the server down; the error itself was delivered to it.
        }
    }
}
