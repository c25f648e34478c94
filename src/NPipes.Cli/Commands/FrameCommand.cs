using System.CommandLine;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes frame encode|decode</c>: the codec on its own, no pipe.</summary>
internal static class FrameCommand
{
    public static Command Create()
    {
        var command = new Command("frame", "Encode text to a frame (hex) or decode a frame (hex) to text, without a pipe.");
        command.Add(Encode());
        command.Add(Decode());
        return command;
    }

    private static Command Encode()
    {
        var common = new CommonOptions();
        var text = new Argument<string>("TEXT") { Description = "The text; '-' reads standard input byte for byte." };
        var command = new Command("encode", "Print the frame for TEXT as lowercase hex.") { text };
        common.AddTo(command, withTimeout: false);
        command.SetAction(result =>
        {
            FrameOptions frame = common.Frame(result);
            Console.Out.WriteLine(Convert.ToHexStringLower(FrameCodec.EncodeText(CommonOptions.ReadText(result.GetValue(text)!, frame), frame)));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Decode()
    {
        var common = new CommonOptions();
        var hex = new Argument<string>("HEX") { Description = "One whole frame as hex (spaces allowed)." };
        var command = new Command("decode", "Print the text of one frame, or the typed error that rejects it.") { hex };
        common.AddTo(command, withTimeout: false);
        command.SetAction(result =>
        {
            byte[] bytes;
            try
            {
                bytes = Convert.FromHexString(result.GetValue(hex)!.Replace(" ", "", StringComparison.Ordinal));
            }
            catch (FormatException e)
            {
                throw new ArgumentException("HEX is not an even number of hexadecimal digits (spaces allowed)", e);
            }
            Console.Out.WriteLine(FrameCodec.DecodeText(bytes, common.Frame(result)));
            return ExitCodes.Success;
        });
        return command;
    }
}
