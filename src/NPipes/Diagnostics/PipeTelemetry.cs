using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace NPipes.Diagnostics;

/// <summary>
/// What a server, a client or a connection reports about one pipe name: its logger (a null logger when none was
/// given), its instruments, its <c>npipes.pipe.name</c> tag. Each event is one method, so each call site is one line.
/// </summary>
internal sealed class PipeTelemetry
{
    private PipeTelemetry(string pipeName, ILoggerFactory? loggers, IMeterFactory? meters)
    {
        PipeName = pipeName;
        Logger = loggers?.CreateLogger(NPipesTelemetry.LoggerCategory) ?? NullLogger.Instance;
        Metrics = NPipesMetrics.For(meters);
        Counts = Metrics.Pipe(pipeName);
    }

    public string PipeName { get; }
    public ILogger Logger { get; }
    public NPipesMetrics Metrics { get; }
    public PipeCounts Counts { get; }

    public static PipeTelemetry For(string pipeName, NPipesOptions options) => new(pipeName, options.LoggerFactory, options.MeterFactory);

    public static PipeTelemetry For(string pipeName, PipeServerOptions options) =>
        new(pipeName, options.LoggerFactory ?? options.Connection.LoggerFactory, options.MeterFactory ?? options.Connection.MeterFactory);

    public static PipeTelemetry For(string pipeName, PipeClientOptions options) =>
        new(pipeName, options.LoggerFactory ?? options.Connection.LoggerFactory, options.MeterFactory ?? options.Connection.MeterFactory);

    /// <summary>A new connection on this pipe starts reporting.</summary>
    public ConnectionTelemetry Open(Stream stream) => new(this, stream);

    // ---- server ----

    public void Listening(int maxConnections) => NPipesLog.ServerListening(Logger, PipeName, maxConnections);

    public void Stopped() => NPipesLog.ServerStopped(Logger, PipeName);

    public void DrainDeadlinePassed(int remaining) => NPipesLog.DrainDeadlinePassed(Logger, PipeName, remaining);

    public void Accepted(ConnectionTelemetry c)
    {
        if (Metrics.Accepted.Enabled)
        {
            Metrics.Accepted.Add(1, Counts.Tag);
        }
        NPipesLog.ConnectionAccepted(Logger, c.Id, PipeName, c.PeerPid, c.PeerUid, c.Peer.Sid);
    }

    /// <summary>A client over the connection limit is being closed unread.</summary>
    public void RefusedByLimit(Stream stream) => Refused(NPipesTags.RefusedByLimit, PeerCredentials.Of(stream));

    /// <summary>A client the access rule does not admit got through to the listener and is being closed unread.</summary>
    public void RefusedByAccess(PeerIdentity peer) => Refused(NPipesTags.RefusedByAccess, peer);

    private void Refused(string reason, PeerIdentity peer)
    {
        if (Metrics.Refused.Enabled)
        {
            Metrics.Refused.Add(1, Counts.Tag, new KeyValuePair<string, object?>(NPipesTags.RefusalReason, reason));
        }
        NPipesLog.ConnectionRefused(Logger, PipeName, reason, peer.ProcessId, peer.UserId ?? -1, peer.Sid);
    }

    /// <summary>
    /// The server contained an error. A frame error or a broken connection was already reported by the connection itself
    /// (frame error, closed); invalid text surfaces here, from the text request handler; a cancellation is a handler
    /// giving up on stop; anything else is the handler's own.
    /// </summary>
    public void Failed(ConnectionTelemetry? connection, Exception error)
    {
        switch (error)
        {
            case InvalidTextException text when connection is not null:
                connection.FrameError(text);
                break;
            case FrameException or ConnectionClosedException when connection is not null:
                break;
            case OperationCanceledException:
                break; // a handler giving up because the server is stopping: expected, not a failure
            default:
                if (connection is null)
                {
                    NPipesLog.AcceptFailed(Logger, error, PipeName);
                }
                else
                {
                    NPipesLog.HandlerFailed(Logger, error, connection.Id, PipeName);
                }
                break;
        }
    }

    // ---- client ----

    public void StateChanged(PipeClientState previous, PipeClientState state, DisconnectReason reason) =>
        NPipesLog.ClientStateChanged(Logger, PipeName, previous, state, reason);

    public void ReconnectFailed(int attempt, Exception error, TimeSpan delay) =>
        NPipesLog.ReconnectAttemptFailed(Logger, PipeName, attempt, error.GetType().Name, (long)delay.TotalMilliseconds);

    // ---- requests ----

    /// <summary>Starts timing (and, if someone listens to the activity source, tracing) one request; does nothing otherwise.</summary>
    public RequestScope StartRequest(bool server)
    {
        bool timed = Metrics.RequestDuration.Enabled;
        if (!timed && !NPipesTelemetry.Source.HasListeners())
        {
            return default;
        }
        Activity? activity = NPipesTelemetry.Source.StartActivity(NPipesTelemetry.RequestActivityName, server ? ActivityKind.Server : ActivityKind.Client);
        activity?.SetTag(NPipesTags.PipeName, PipeName);
        return new RequestScope(this, activity, timed ? Stopwatch.GetTimestamp() : 0, server ? NPipesTags.ServerSide : NPipesTags.ClientSide);
    }
}
