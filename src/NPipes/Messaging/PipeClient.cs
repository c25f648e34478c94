using NPipes.Diagnostics;
using NPipes.Transport;

namespace NPipes;

/// <summary>
/// A client of a <see cref="PipeServer"/> (or any npipes peer) that can reconnect automatically after losing its
/// connection, with exponential backoff (<see cref="PipeClientOptions"/>).
/// </summary>
/// <remarks>
/// <para>Delivery contract, exactly:</para>
/// <list type="bullet">
/// <item>A send that completed means its frame was accepted, in order, on the current connection. On Unix a small frame
/// may still be queued in the connection's send queue (written in the background; <see cref="PipeConnection.FlushAsync"/>
/// on <see cref="Connection"/> waits until it is written); on Windows, and for payloads of 32 KiB or more, it was written
/// to the pipe. Either way it does not mean the peer read it, let alone processed it: if the connection is lost
/// afterwards, the message may or may not have been processed, and the client cannot tell.</item>
/// <item>A send that threw was not delivered, as far as the client knows: either nothing was written, or a partial frame
/// was written and the connection closed, so the peer sees a truncated frame and must discard it. Frames of earlier sends
/// still queued when a write failed are lost with the connection; the failure is reported by the next operation, as
/// <see cref="ConnectionClosedException"/>.</item>
/// <item>A request that threw may or may not have been processed by the server (its frame may have been written); its
/// reply, if any, is lost with the connection.</item>
/// <item>Reconnecting never re-sends anything, so nothing is delivered twice by this client. Retrying is the caller's
/// decision, and only safe for operations the server can receive twice.</item>
/// <item>Order is kept within one connection only. Messages sent after a reconnection travel on a new connection; the
/// server may handle them concurrently with the tail of the old one.</item>
/// <item>The client learns of a loss only through an operation (there is no background reader or heartbeat), so
/// <see cref="State"/> can read <see cref="PipeClientState.Connected"/> while the server is already gone.</item>
/// </list>
/// <para>Operations issued while reconnecting wait for the new connection, up to <see cref="NPipesOptions.Timeout"/> of
/// <see cref="PipeClientOptions.Connection"/> or until their token fires.</para>
/// </remarks>
public sealed partial class PipeClient : IAsyncDisposable, IDisposable
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _closing = new();
    private TaskCompletionSource<PipeConnection> _ready = NewReady();
    private PipeConnection? _current;
    private PipeClientState _state;
    private DisconnectReason _lastReason;
    private bool _everConnected;
    private readonly PipeTelemetry _telemetry;

    /// <summary>Creates a client for <paramref name="pipeName"/>; call <see cref="ConnectAsync"/> to connect.</summary>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    public PipeClient(string pipeName, PipeClientOptions? options = null)
    {
        NPipes.PipeNames.Validate(pipeName);
        PipeName = pipeName;
        Options = options ?? PipeClientOptions.Default;
        _telemetry = PipeTelemetry.For(pipeName, Options);
    }

    /// <summary>Raised on every state change, on the thread that caused it. Handlers must not block.</summary>
    public event EventHandler<PipeClientStateChangedEventArgs>? StateChanged;

    /// <summary>The pipe name.</summary>
    public string PipeName { get; }

    /// <summary>The options in force.</summary>
    public PipeClientOptions Options { get; }

    /// <summary>The state, as far as the client has observed.</summary>
    public PipeClientState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The current connection, or null when not connected. Do not dispose it; use it for the typed extensions.</summary>
    public PipeConnection? Connection
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Connects, waiting up to <see cref="NPipesOptions.Timeout"/> for a server. Returns at once if connected; waits if a reconnection is in progress.</summary>
    /// <exception cref="TimeoutException">No server accepted in time (the client stays <see cref="PipeClientState.Disconnected"/>).</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(State == PipeClientState.Closed, this);
        // Only the caller that moves the client out of Disconnected connects; any other waits for its result.
        if (TryTransition(PipeClientState.Disconnected, PipeClientState.Connecting))
        {
            try
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
                Adopt(await PipeConnection.ConnectCoreAsync(PipeName, Options.Connection, _telemetry, linked.Token).ConfigureAwait(false));
            }
            catch (Exception e)
            {
                FailAttempt(e); // callers that were waiting on this attempt fail with it too
                if (_closing.IsCancellationRequested)
                {
                    throw new ObjectDisposedException(nameof(PipeClient), e);
                }
                throw;
            }
        }
        await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connection and stops reconnecting; waiting operations fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        PipeConnection? current;
        TaskCompletionSource<PipeConnection> ready;
        lock (_gate)
        {
            if (_state == PipeClientState.Closed)
            {
                return;
            }
            current = _current;
            _current = null;
            ready = _ready;
        }
        _closing.Cancel();
        current?.Dispose();
        ready.TrySetException(new ObjectDisposedException(nameof(PipeClient)));
        SetState(PipeClientState.Closed, current?.DisconnectReason ?? DisconnectReason.None);
    }

    /// <summary>Closes the connection and stops reconnecting.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static TaskCompletionSource<PipeConnection> NewReady() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async ValueTask<PipeConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        Task<PipeConnection> ready;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_state == PipeClientState.Closed, this);
            if (_current is { } current)
            {
                return current;
            }
            if (_state == PipeClientState.Disconnected)
            {
                throw _everConnected
                    ? new ConnectionClosedException(_lastReason)
                    : new InvalidOperationException("The client is not connected: call ConnectAsync first.");
            }
            ready = _ready.Task;
        }
        TimeSpan timeout = Options.Connection.Timeout;
        // Any length of timeout (Task.WaitAsync alone refuses more than 49.7 days).
        using CancellationTokenSource? timer = Deadline.After(timeout).Link(cancellationToken, out CancellationToken token);
        try
        {
            return await ready.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (timer is { IsCancellationRequested: true } && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Not reconnected to pipe '{PipeName}' within {timeout.TotalSeconds:0.###} s.", e);
        }
    }

    /// <summary>Makes <paramref name="connection"/> current (or drops it if the client was disposed meanwhile).</summary>
    private void Adopt(PipeConnection connection)
    {
        TaskCompletionSource<PipeConnection> ready;
        lock (_gate)
        {
            if (_state == PipeClientState.Closed)
            {
                connection.Dispose();
                return;
            }
            _current = connection;
            _everConnected = true;
            ready = _ready;
        }
        SetState(PipeClientState.Connected, DisconnectReason.None);
        ready.TrySetResult(connection);
    }

    /// <summary>The connection ended: forget it and, if enabled, reconnect in the background. Nothing is re-sent.</summary>
    private void Lost(PipeConnection connection)
    {
        bool reconnect;
        lock (_gate)
        {
            if (_current != connection || _state == PipeClientState.Closed)
            {
                return; // another operation already handled this loss
            }
            _current = null;
            _lastReason = connection.DisconnectReason == DisconnectReason.None ? DisconnectReason.PeerClosed : connection.DisconnectReason;
            if (_ready.Task.IsCompleted)
            {
                _ready = NewReady();
            }
            reconnect = Options.AutoReconnect;
        }
        connection.Dispose();
        SetState(PipeClientState.Disconnected, _lastReason);
        if (reconnect && TryTransition(PipeClientState.Disconnected, PipeClientState.Connecting))
        {
            _ = ReconnectAsync();
        }
    }

    private async Task ReconnectAsync()
    {
        TimeSpan delay = Options.InitialReconnectDelay;
        NPipesOptions once = Options.Connection with { Timeout = TimeSpan.Zero }; // one attempt each time; the backoff does the waiting
        CancellationToken closing = _closing.Token;
        int attempt = 0;
        while (!closing.IsCancellationRequested)
        {
            try
            {
                Adopt(await PipeConnection.ConnectCoreAsync(PipeName, once, _telemetry, closing).ConfigureAwait(false));
                return;
            }
            catch (OperationCanceledException) when (closing.IsCancellationRequested)
            {
                return;
            }
            catch (UnauthorizedAccessException e)
            {
                // docs/access.md §4: a server we do not trust (or that refuses us) is never retried automatically: a
                // squatter must not get a client that keeps coming back. Waiting operations fail with the refusal; an
                // explicit ConnectAsync tries again.
                _telemetry.ReconnectFailed(++attempt, e, delay);
                FailAttempt(e);
                return;
            }
            catch (Exception e) when (e is TimeoutException or IOException)
            {
                // No server yet: try again after the backoff.
                _telemetry.ReconnectFailed(++attempt, e, delay);
            }
            try
            {
                await Task.Delay(delay, closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = delay * 2 < Options.MaxReconnectDelay ? delay * 2 : Options.MaxReconnectDelay;
        }
    }

    /// <summary>A connection attempt failed for good: back to Disconnected; the operations waiting for it fail with <paramref name="refusal"/>.</summary>
    private void FailAttempt(Exception refusal)
    {
        TaskCompletionSource<PipeConnection> failed;
        lock (_gate)
        {
            failed = _ready;
            _ready = NewReady();
        }
        TryTransition(PipeClientState.Connecting, PipeClientState.Disconnected);
        failed.TrySetException(refusal);
    }

    private void SetState(PipeClientState state, DisconnectReason reason)
    {
        PipeClientState previous;
        lock (_gate)
        {
            previous = _state;
            if (previous == state || previous == PipeClientState.Closed)
            {
                return;
            }
            _state = state;
        }
        RaiseStateChanged(previous, state, reason);
    }

    /// <summary>Moves from <paramref name="from"/> to <paramref name="to"/> atomically; false if the state was not <paramref name="from"/>.</summary>
    private bool TryTransition(PipeClientState from, PipeClientState to)
    {
        lock (_gate)
        {
            if (_state != from)
            {
                return false;
            }
            _state = to;
        }
        RaiseStateChanged(from, to, DisconnectReason.None);
        return true;
    }

    private void RaiseStateChanged(PipeClientState previous, PipeClientState current, DisconnectReason reason)
    {
        _telemetry.StateChanged(previous, current, reason);
        StateChanged?.Invoke(this, new PipeClientStateChangedEventArgs(previous, current, reason));
    }
}
