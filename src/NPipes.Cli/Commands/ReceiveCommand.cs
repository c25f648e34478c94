using System.CommandLine;
using System.Text.Json;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes receive NAME</c>: print N messages, from as many connections as it takes.</summary>
internal static class ReceiveCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name." };
        var count = new Option<int>("--count") { Description = "How many messages to receive (default 1).", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per message: text, bytes, crc." };
        var command = new Command("receive", "Receive messages and print each on its own line: connect to a waiting sender, or create the pipe and wait.")
        {
            name, count, json,
        };
        common.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            int wanted = result.GetValue(count);
            if (wanted < 1)
            {
                throw new ArgumentException("--count must be at least 1.");
            }
            NPipesOptions options = common.Pipe(result);
            bool asJson = result.GetValue(json);
            var ipc = new Ipc(result.GetValue(name)!, options);
            int received = 0;
            await foreach (PipeMessage message in ipc.ReceiveMessagesAsync(options.Frame.Crc, ct).ConfigureAwait(false))
            {
                using (message)
                {
                    Console.Out.WriteLine(asJson ? ToJson(message, message.GetText()) : message.GetText());
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

    private static string ToJson(PipeMessage message, string text)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("text", text);
            writer.WriteNumber("bytes", message.Length);
            writer.WriteString("crc", message.Crc.ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
