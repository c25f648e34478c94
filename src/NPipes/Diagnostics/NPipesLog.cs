using Microsoft.Extensions.Logging;

namespace NPipes.Diagnostics;

/// <summary>
/// Every log event NPipes writes, source-generated (no boxing, no formatting unless the level is enabled). The event ids
/// are stable: they are part of the public contract (listed in the README) and are never reused for another event.
/// </summary>
internal static partial class NPipesLog
{
    [LoggerMessage(1, LogLevel.Information, "Listening on pipe '{PipeName}' (at most {MaxConnections} connections)", EventName = "ServerListening")]
    public static partial void ServerListening(ILogger logger, string pipeName, int maxConnections);

    [LoggerMessage(2, LogLevel.Information, "Stopped serving pipe '{PipeName}'", EventName = "ServerStopped")]
    public static partial void ServerStopped(ILogger logger, string pipeName);

    [LoggerMessage(3, LogLevel.Debug, "Connection {ConnectionId} accepted on pipe '{PipeName}' (peer pid {PeerPid}, uid {PeerUid}, sid {PeerSid})", EventName = "ConnectionAccepted")]
    public static partial void ConnectionAccepted(ILogger logger, long connectionId, string pipeName, int peerPid, long peerUid, string? peerSid);

    [LoggerMessage(4, LogLevel.Warning, "Connection refused on pipe '{PipeName}': {RefusalReason} (peer pid {PeerPid}, uid {PeerUid}, sid {PeerSid})", EventName = "ConnectionRefused")]
    public static partial void ConnectionRefused(ILogger logger, string pipeName, string refusalReason, int peerPid, long peerUid, string? peerSid);

    [LoggerMessage(5, LogLevel.Debug, "Connection {ConnectionId} on pipe '{PipeName}' closed: {DisconnectReason} after {DurationSeconds:0.###} s", EventName = "ConnectionClosed")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, string pipeName, DisconnectReason disconnectReason, double durationSeconds);

    [LoggerMessage(6, LogLevel.Warning, "Frame error {ErrorType} on connection {ConnectionId}, pipe '{PipeName}' (peer pid {PeerPid}, uid {PeerUid})", EventName = "FrameError")]
    public static partial void FrameError(ILogger logger, Exception exception, string errorType, long connectionId, string pipeName, int peerPid, long peerUid);

    [LoggerMessage(7, LogLevel.Error, "The handler of connection {ConnectionId} on pipe '{PipeName}' threw; that connection is closed", EventName = "HandlerFailed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, long connectionId, string pipeName);

    [LoggerMessage(8, LogLevel.Warning, "Accepting a client on pipe '{PipeName}' failed", EventName = "AcceptFailed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception, string pipeName);

    [LoggerMessage(9, LogLevel.Warning, "Pipe '{PipeName}': the drain deadline passed; closing {Remaining} connections still open", EventName = "DrainDeadlinePassed")]
    public static partial void DrainDeadlinePassed(ILogger logger, string pipeName, int remaining);

    [LoggerMessage(10, LogLevel.Information, "Client of pipe '{PipeName}': {PreviousState} -> {State} (reason {DisconnectReason})", EventName = "ClientStateChanged")]
    public static partial void ClientStateChanged(ILogger logger, string pipeName, PipeClientState previousState, PipeClientState state, DisconnectReason disconnectReason);

    [LoggerMessage(11, LogLevel.Debug, "Client of pipe '{PipeName}': reconnect attempt {Attempt} failed ({ErrorType}); next attempt in {DelayMilliseconds} ms", EventName = "ReconnectAttemptFailed")]
    public static partial void ReconnectAttemptFailed(ILogger logger, string pipeName, int attempt, string errorType, long delayMilliseconds);
}
