using System.CommandLine;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes echo NAME</c>: a server that answers every message with the same payload, for any number of clients.</summary>
internal static class EchoCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name." };
        // Default: the library's, which leaves descriptors for the runtime under the open-file limit (768 under 1,024).
        var maxConnections = OptionValues.Whole("--max-connections", "Clients served at once; one more is closed at once (default: 1024, fewer under a low open-file limit).", low: 1, defaultValue: new PipeServerOptions().MaxConnections);
        var idleTimeout = OptionValues.Seconds("--idle-timeout", "Close a client that sends nothing for this long (default: never).", positive: true);
        var frameTimeout = OptionValues.Seconds("--frame-timeout", "Close a client whose frame takes longer than this from its first byte (default: never).", positive: true);
        var command = new Command("echo", "Serve NAME: answer every message with the same payload, for any number of concurrent clients, until Ctrl-C or SIGTERM.")
        {
            name, maxConnections, idleTimeout, frameTimeout,
        };
        common.AddTo(command, withTimeout: false, withSharedMemory: true);
        var access = new AccessOptions();
        access.AddServerFlags(command);
        command.SetAction(async (result, ct) =>
        {
            string pipe = result.GetValue(name)!;
            int max = result.GetValue(maxConnections);
            double? idle = result.GetValue(idleTimeout), frame = result.GetValue(frameTimeout);
            var options = new PipeServerOptions
            {
                Connection = new NPipesOptions { Frame = common.Frame(result), Access = access.Access(result), SharedMemory = common.SharedMemoryOf(result) },
                MaxConnections = max,
                IdleTimeout = idle is { } i ? TimeSpan.FromSeconds(i) : Timeout.InfiniteTimeSpan,
                FrameTimeout = frame is { } f ? TimeSpan.FromSeconds(f) : Timeout.InfiniteTimeSpan,
            };
            await using PipeServer server = PipeServer.Listen(pipe, options);
            // One bad client is that client's problem: report it and keep serving the others.
            // Through a bounded queue and a thread of its own: a stderr nobody drains must not stop the serving.
            using var log = new ServerLog("npipes echo");
            server.Error += (_, e) => log.Write("connection closed: " + ErrorText.Describe(e.Exception, result));
            // The same line as the Python CLI's: it is listening from now on, with these limits.
            Console.Out.WriteLine(Quote.Line($"npipes echo: serving {Quote.Text(pipe)} at {PipeNames.GetPath(pipe)} (max connections {max}, idle timeout {OptionValues.Format(idle)}, frame timeout {OptionValues.Format(frame)})"));
            Console.Out.Flush();
            await server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload), ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
