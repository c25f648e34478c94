using System.CommandLine;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes echo NAME</c>: a server that answers every message with the same payload, for any number of clients.</summary>
internal static class EchoCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name." };
        var command = new Command("echo", "Serve NAME: answer every message with the same payload, for any number of concurrent clients, until Ctrl-C or SIGTERM.")
        {
            name,
        };
        common.AddTo(command, withTimeout: false);
        command.SetAction(async (result, ct) =>
        {
            string pipe = result.GetValue(name)!;
            var options = new PipeServerOptions { Connection = new NPipesOptions { Frame = common.Frame(result) } };
            await using PipeServer server = PipeServer.Listen(pipe, options);
            // One bad client is that client's problem: report it and keep serving the others.
            server.Error += (_, e) => Console.Error.WriteLine($"npipes echo: connection closed: {e.Exception.GetType().Name}: {e.Exception.Message}");
            Console.Out.WriteLine($"npipes echo: serving '{pipe}' at {PipeNames.GetPath(pipe)}");
            Console.Out.Flush();
            await server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload), ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
