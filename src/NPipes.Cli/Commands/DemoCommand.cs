using System.CommandLine;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes demo</c>: a receiver and a sender exchange a few messages over a real pipe, with CRC.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Run a receiver and a sender that exchange a few CRC-checked messages over a real pipe, and show what happened.");
        command.SetAction(async (_, ct) =>
        {
            string name = "npipes_demo_" + Environment.ProcessId;
            var options = new NPipesOptions { Timeout = TimeSpan.FromSeconds(10), Frame = new FrameOptions { Crc = true } };
            string[] texts = ["Hello", "The quick brown fox jumps over the lazy dog", "npipes 1.0.1 frames, byte for byte"];
            Console.WriteLine(Quote.Line($"pipe {Quote.Text(name)} at {PipeNames.GetPath(name)}; big endian, ASCII, CRC-32 on"));

            // npipes style: one message per connection, receiver started first, then the sender meets it.
            var receiver = new Ipc(name, options);
            var sender = new Ipc(name, options);
            foreach (string text in texts)
            {
                Task<string> received = receiver.ReceiveMessageAsync(crc: true, ct);
                await sender.SendMessageAsync(text, crc: true, ct).ConfigureAwait(false);
                string got = await received.ConfigureAwait(false);
                Console.WriteLine($"sent {text.Length,2} chars  frame {Convert.ToHexStringLower(FrameCodec.EncodeText(text, options.Frame))[..Math.Min(48, 24 + text.Length * 2)]}...  received \"{got}\"  {(got == text ? "OK" : "MISMATCH")}");
                if (got != text)
                {
                    return ExitCodes.Other;
                }
            }

            // A corrupted frame is refused with a typed error, never handed out as text.
            byte[] frame = FrameCodec.EncodeText("Hello", options.Frame);
            frame[9] ^= 0x20;
            try
            {
                FrameCodec.DecodeText(frame, options.Frame);
                Console.WriteLine("corrupted frame was accepted: BUG");
                return ExitCodes.Other;
            }
            catch (CrcMismatchException e)
            {
                Console.WriteLine($"corrupted frame refused: {e.GetType().Name}: {e.Message}");
            }
            Console.WriteLine($"demo OK: {texts.Length} messages exchanged over a real pipe with CRC checked");
            return ExitCodes.Success;
        });
        return command;
    }
}
