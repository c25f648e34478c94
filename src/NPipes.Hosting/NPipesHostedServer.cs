using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace NPipes.Hosting;

/// <summary>
/// One pipe server run by the host (registered by <c>AddNPipesServer</c>; resolvable as a keyed service by its pipe name).
/// Starts listening with the host, logging through the host's <see cref="ILoggerFactory"/> and counting through its
/// <see cref="IMeterFactory"/>. On host stop it stops accepting at once (the name is released), lets requests and
/// connections in progress finish, and when the host's shutdown deadline (or <see cref="NPipesServerOptions.DrainTimeout"/>)
/// comes cancels the handlers' tokens and closes what is left: a client mid-request gets its reply or a
/// <see cref="ConnectionClosedException"/>, never a hang.
/// </summary>
public sealed class NPipesHostedServer : IHostedService, IAsyncDisposable
{
    /// <summary>How long the server waits, once the host's deadline has come and handlers were cancelled, for them to return.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(1);

    private readonly IServiceProvider _services;
    private readonly Func<NPipesHostedServer, PipeServer, Task> _serve;
    private readonly CancellationTokenSource _abort = new();
    private readonly ConcurrentDictionary<PipeConnection, byte> _connections = new();
    private readonly ILogger _logger;
    private PipeServer? _server;
    private Task _serving = Task.CompletedTask;

    internal NPipesHostedServer(string pipeName, IServiceProvider services, Func<NPipesHostedServer, PipeServer, Task> serve)
    {
        PipeName = pipeName;
        _services = services;
        _serve = serve;
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger("NPipes.Hosting") ?? NullLogger.Instance;
    }

    /// <summary>The pipe name served.</summary>
    public string PipeName { get; }

    /// <summary>The running server (null before the host starts it). Use it for <see cref="PipeServer.ActiveConnections"/> and the like; the host stops it.</summary>
    public PipeServer? Server => Volatile.Read(ref _server);

    /// <summary>Whether the server holds its pipe name and accepts clients (started, and not stopping).</summary>
    public bool IsListening => Server is { } server && !server.Stopping.IsCancellationRequested;

    /// <summary>The token handlers get for their work: fires at the host's shutdown deadline or the drain timeout.</summary>
    internal CancellationToken Aborting => _abort.Token;

    /// <summary>Starts listening. Fails the host's start if the name is taken (<see cref="PipeNameInUseException"/>) or the options are invalid.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Server is not null)
        {
            throw new InvalidOperationException($"The NPipes server on '{PipeName}' is already started.");
        }
        NPipesServerOptions settings = _services.GetRequiredService<IOptionsMonitor<NPipesServerOptions>>().Get(PipeName);
        PipeServerOptions options = settings.ToPipeServerOptions(_services.GetService<ILoggerFactory>(), _services.GetService<IMeterFactory>());
        PipeServer server = PipeServer.Listen(PipeName, options);
        Volatile.Write(ref _server, server);
        if (options.DrainTimeout != Timeout.InfiniteTimeSpan)
        {
            server.Stopping.Register(static s => ((NPipesHostedServer)s!).AbortAfter(), this);
        }
        _serving = _serve(this, server);
        return Task.CompletedTask;
    }

    /// <summary>Stops accepting, drains until done or until <paramref name="cancellationToken"/> (the host's shutdown deadline) fires, then cancels and closes what is left.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Server is not { } server)
        {
            return;
        }
        Task stopped = Task.WhenAll(server.StopAsync(server.Options.DrainTimeout, CancellationToken.None), _serving);
        try
        {
            await stopped.WaitAsync(cancellationToken).ConfigureAwait(false); // the server contains handler errors: no throw
            return;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's deadline. (Aborting here, not in a token callback: the wait above may resume inside the
            // token's callbacks and unregister one that has not run yet.)
        }
        Abort(log: true);
        if (await Task.WhenAny(stopped, Task.Delay(AbortGrace, CancellationToken.None)).ConfigureAwait(false) != stopped)
        {
            HostingLog.HandlersOutlivedShutdown(_logger, PipeName);
        }
    }

    /// <summary>
    /// Stops at once if the host did not stop it: stops accepting, cancels the handlers' tokens, closes the connections,
    /// and waits a moment for the handlers to return.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Server is { } server)
        {
            Task stopped = server.StopAsync(server.Options.DrainTimeout, CancellationToken.None);
            if (!stopped.IsCompleted)
            {
                Abort(log: false);
                await Task.WhenAny(stopped, Task.Delay(AbortGrace, CancellationToken.None)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs a connection handler, keeping the connection where the shutdown deadline can close it.</summary>
    internal async Task TrackAsync(PipeConnection connection, CancellationToken stopping, Func<PipeConnection, CancellationToken, Task> handler)
    {
        _connections[connection] = 0;
        try
        {
            if (_abort.IsCancellationRequested)
            {
                return;
            }
            await handler(connection, stopping).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
        }
    }

    private void AbortAfter()
    {
        try
        {
            _abort.CancelAfter(Server!.Options.DrainTimeout);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: nothing left to cancel.
        }
    }

    /// <summary>The host's deadline: cancel the handlers' tokens and close the connections still open.</summary>
    private void Abort(bool log)
    {
        if (log)
        {
            HostingLog.ShutdownDeadline(_logger, PipeName, _connections.Count);
        }
        _abort.Cancel();
        foreach (PipeConnection connection in _connections.Keys)
        {
            connection.Dispose();
        }
    }
}
