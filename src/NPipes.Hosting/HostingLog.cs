using Microsoft.Extensions.Logging;

namespace NPipes.Hosting;

/// <summary>The hosting package's log events (category "NPipes.Hosting"); ids from 100, stable like the core's.</summary>
internal static partial class HostingLog
{
    [LoggerMessage(100, LogLevel.Warning, "Pipe '{PipeName}': the host's shutdown deadline came before the server drained; cancelling handlers and closing {Connections} tracked connections", EventName = "ShutdownDeadline")]
    public static partial void ShutdownDeadline(ILogger logger, string pipeName, int connections);

    [LoggerMessage(101, LogLevel.Warning, "Pipe '{PipeName}': handlers still running after being cancelled; the host stops without them", EventName = "HandlersOutlivedShutdown")]
    public static partial void HandlersOutlivedShutdown(ILogger logger, string pipeName);
}
