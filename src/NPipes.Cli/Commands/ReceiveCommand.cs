using System.CommandLine;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes receive NAME</c>: print N messages, from as many connections as it takes.</summary>
internal static class ReceiveCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name." };
        var count = OptionValues.Whole("--count", "How many messages to receive; --timeout applies to each.", low: 1, defaultValue: 1);
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object per message: {\"text\", \"bytes\": payload length, \"crc\": the CRC field as 8 hex digits}, UTF-8 unescaped.",
            Arity = ArgumentArity.Zero,
        };
        var command = new Command("receive", "Receive messages and print each on its own line: connect to a waiting sender, or create the pipe and wait.")
        {
            name, count, json,
        };
        common.AddTo(command, withSharedMemory: true);
        var access = new AccessOptions();
        access.AddServerFlags(command);
        command.SetAction(async (result, ct) =>
        {
            int wanted = result.GetValue(count);
            NPipesOptions options = common.Pipe(result) with { Access = access.Access(result) };
            bool asJson = result.GetValue(json);
            var ipc = new Ipc(result.GetValue(name)!, options);
            int received = 0;
            await foreach (PipeMessage message in ipc.ReceiveMessagesAsync(options.Frame.Crc, ct).ConfigureAwait(false))
            {
                using (message)
                {
                    string text = message.GetText();
                    Console.Out.WriteLine(asJson ? JsonLine.Format(text, message.Length, message.Crc) : text);
                    Console.Out.Flush();
                }
                if (++received == wanted)
                {
                    break;
                }
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
