using System.CommandLine;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes send NAME TEXT</c>: one message with npipes' semantics.</summary>
internal static class SendCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name." };
        var text = new Argument<string>("TEXT") { Description = "The message text; '-' reads standard input byte for byte." };
        var command = new Command("send", "Send one message: connect to a waiting receiver, or create the pipe and wait for one (as npipes' send_message).")
        {
            name, text,
        };
        common.AddTo(command, withSharedMemory: true);
        var access = new AccessOptions();
        access.AddClientFlags(command);
        command.SetAction(async (result, ct) =>
        {
            NPipesOptions options = common.Pipe(result) with { TrustedServers = access.Trusted(result) };
            string message = CommonOptions.ReadText(result.GetValue(text)!, options.Frame);
            string pipe = result.GetValue(name)!;
            await WaitNotice.Around(new Ipc(pipe, options).SendMessageAsync(message, options.Frame.Crc, ct), pipe, "a receiver").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
