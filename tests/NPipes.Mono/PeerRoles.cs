using System;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace NPipes.Mono;

/// <summary>
/// The app as a peer process (the net10.0 build under .NET; the net48 build under Mono as another account):
/// `peer serve NAME SIZE` serves one connection, checks the one request is the payload and sends it back;
/// `peer request NAME SIZE [any-user]` sends the payload as a request and checks the reply (any-user: current-user-only
/// off on this side); both print "ok" and exit 0, or what went wrong and exit 1, as big_peer.py does.
/// `peer connect NAME` connects and exits 0 ("connected"), 3 on UnauthorizedAccessException ("refused: ..."), else 1.
/// Warnings the library logs (a refused peer) go to stderr as "log EVENT: message".
/// </summary>
internal static class PeerRoles
{
    public static async Task<int> RunAsync(string[] args)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int size = 0;
        if (args.Length < 3 || (args[1] != "connect" && (args.Length < 4 || !int.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out size))))
        {
            Console.Error.WriteLine("usage: peer serve|request NAME SIZE [any-user] | peer connect NAME");
            return 2;
        }
        try
        {
            string? wrong = args[1] switch
            {
                "serve" => await ServeAsync(args[2], size, stop.Token).ConfigureAwait(false),
                "request" => await RequestAsync(args[2], size, anyUser: args.Length > 4 && args[4] == "any-user", stop.Token).ConfigureAwait(false),
                "connect" => await ConnectAsync(args[2], stop.Token).ConfigureAwait(false),
                _ => "unknown role " + args[1],
            };
            Console.WriteLine(wrong ?? "ok");
            return wrong is null ? 0 : 1;
        }
        catch (UnauthorizedAccessException e) when (args[1] == "connect")
        {
            Console.WriteLine("refused: " + e.Message);
            return 3;
        }
        catch (Exception e) when (e is NPipesException or IOException or UnauthorizedAccessException or TimeoutException or OperationCanceledException)
        {
            Console.WriteLine($"error {e.GetType().Name}: {e.Message}");
            return 1;
        }
    }

    private static async Task<string?> ServeAsync(string name, int size, CancellationToken ct)
    {
        var options = new PipeServerOptions { Connection = BigFrame.Options, LoggerFactory = new StderrLoggerFactory() };
        await using PipeServer server = PipeServer.Listen(name, options);
        await using PipeConnection connection = await server.AcceptAsync(ct).ConfigureAwait(false);
        using PipeMessage? request = await connection.ReceiveAsync(ct).ConfigureAwait(false);
        if (request is null)
        {
            return "the client closed before sending";
        }
        if (BigFrame.Difference(request.Payload.Span, size) is string difference)
        {
            return "request: " + difference;
        }
        await connection.SendAsync(request.Payload, ct).ConfigureAwait(false);
        // The client closes once it has the reply: wait for that, so the reply is not cut off by our own close.
        using PipeMessage? after = await connection.ReceiveAsync(ct).ConfigureAwait(false);
        return after is null ? null : "a second request arrived";
    }

    private static async Task<string?> RequestAsync(string name, int size, bool anyUser, CancellationToken ct)
    {
        NPipesOptions options = anyUser ? BigFrame.Options with { CurrentUserOnly = false } : BigFrame.Options;
        await using PipeConnection connection = await PipeConnection.ConnectAsync(name, options, ct).ConfigureAwait(false);
        using PipeMessage reply = await connection.RequestAsync(BigFrame.Payload(size), ct).ConfigureAwait(false);
        return BigFrame.Difference(reply.Payload.Span, size) is string difference ? "reply: " + difference : null;
    }

    private static async Task<string?> ConnectAsync(string name, CancellationToken ct)
    {
        await using PipeConnection connection = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false);
        Console.WriteLine("connected");
        return null;
    }
}

/// <summary>The library's warnings (refused peers, frame errors) on stderr, one line each: "log EVENT: message".</summary>
internal sealed class StderrLoggerFactory : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new StderrLogger();

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class StderrLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Console.Error.WriteLine($"log {eventId.Name}: {formatter(state, exception)}");
    }
}
