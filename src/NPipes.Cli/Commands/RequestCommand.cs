using System.CommandLine;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes request NAME TEXT</c>: one request on a persistent-connection server, print the reply.</summary>
internal static class RequestCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name of a server (for example npipes echo)." };
        var text = new Argument<string>("TEXT") { Description = "The request text; '-' reads standard input byte for byte." };
        var command = new Command("request", "Connect to the server on NAME, send TEXT, print the reply.") { name, text };
        common.AddTo(command, withSharedMemory: true);
        var access = new AccessOptions();
        access.AddClientFlags(command);
        command.SetAction(async (result, ct) =>
        {
            NPipesOptions options = common.Pipe(result) with { TrustedServers = access.Trusted(result) };
            string message = CommonOptions.ReadText(result.GetValue(text)!, options.Frame);
            string pipe = result.GetValue(name)!;
            await using PipeConnection connection = await WaitNotice.Around(PipeConnection.ConnectAsync(pipe, options, ct), pipe).ConfigureAwait(false);
            // The same --timeout bounds the wait for the reply (the connection is closed if it runs out).
            Console.Out.WriteLine(await connection.RequestAsync(message, options.Timeout, ct).ConfigureAwait(false));
            return ExitCodes.Success;
        });
        return command;
    }
}
