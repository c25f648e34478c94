using System.CommandLine;
using System.Text;

namespace NPipes.Cli;

/// <summary>
/// An error as one line a person understands (without the "npipes: " prefix): no exception type names, no
/// "(Parameter 'name')", and a hint where the two sides likely disagree (--crc, --byte-order, --encoding). The frame,
/// text and timeout errors read word for word as the Python CLI's (python/npipes/_cli_commands.py, describe).
/// </summary>
internal static class ErrorText
{
    public static string Describe(Exception e, ParseResult parsed)
    {
        Command command = parsed.CommandResult.Command;
        string? encoding = Value<string>(parsed, command, "--encoding");
        return e switch
        {
            TimeoutException when Value<string>(parsed, command, "NAME") is { } pipe && Value<double?>(parsed, command, "--timeout") is { } seconds
                => $"{command.Name} on pipe {Quote.Text(pipe)}: timed out after {OptionValues.Format(seconds)} s",
            CrcMismatchException crc => $"CRC-32 mismatch: the frame carries 0x{crc.Expected:x8}, the payload's is 0x{crc.Actual:x8}" + (crc.Expected == 0
                ? "; " + MismatchHint.NoCrc("--crc")
                : "; the payload was changed, or its CRC computed another way"),
            FrameLengthMismatchException m
                => MismatchHint.IsSharedMemory(m.MessageLength, m.DataLength)
                    ? MismatchHint.SharedMemoryOption
                    : $"not an npipes frame: MessageLength {m.MessageLength} is not DataLength {m.DataLength} + 8; {MismatchHint.AnotherByteOrder("--byte-order")}",
            FrameTooLargeException big when big.DeclaredLength is >= 0 and <= uint.MaxValue - 8 && MismatchHint.IsSharedMemory((uint)(big.DeclaredLength + 8), null)
                => MismatchHint.SharedMemoryOption,
            FrameTooLargeException big => $"a payload of {big.DeclaredLength} bytes exceeds the maximum of {big.MaxPayloadLength} bytes"
                + (command.Name is "receive" or "decode" ? "; " + MismatchHint.AnotherByteOrder("--byte-order") : ""),
            IncompleteFrameException => command.Name == "decode"
                ? "the frame is cut short: HEX holds fewer bytes than its lengths say"
                : "the peer closed the connection in the middle of a frame",
            StdinTextException => $"standard input is not {Display(encoding)} text: {MismatchHint.OtherEncoding(Other(encoding))}",
            InvalidTextException text when text.InnerException is DecoderFallbackException
                => $"the message is not {Display(encoding)} text: {MismatchHint.OtherEncoding(Other(encoding))}",
            InvalidTextException => encoding == "utf-8"
                ? "the text cannot be encoded as UTF-8"
                : $"the text is not {Display(encoding)}: {MismatchHint.OtherEncoding("utf-8")}",
            _ => Plain(e),
        };
    }

    /// <summary>A library message made a clause: one line, no "(Parameter 'name')", no final period, lower case first.</summary>
    public static string Plain(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } param })
        {
            message = message.Replace($" (Parameter '{param}')", "", StringComparison.Ordinal);
        }
        message = message.ReplaceLineEndings(" ").Trim().TrimEnd('.');
        return message.Length > 1 && char.IsUpper(message[0]) && (char.IsLower(message[1]) || message[1] == ' ')
            ? char.ToLowerInvariant(message[0]) + message[1..]
            : message;
    }

    private static string Display(string? encoding) => encoding switch
    {
        "utf-8" => "UTF-8",
        "latin-1" => "Latin-1",
        _ => "ASCII",
    };

    private static string Other(string? encoding) => encoding == "utf-8" ? "latin-1" : "utf-8";

    /// <summary>The value of the command's option or argument of that name, if it has one.</summary>
    private static T? Value<T>(ParseResult parsed, Command command, string name)
    {
        if (command.Options.FirstOrDefault(o => o.Name == name) is Option<T> option)
        {
            return parsed.GetValue(option);
        }
        return command.Arguments.FirstOrDefault(a => a.Name == name) is Argument<T> argument ? parsed.GetValue(argument) : default;
    }
}

/// <summary>Standard input (TEXT "-") is not valid in the encoding: a data error about the input, not about a peer.</summary>
internal sealed class StdinTextException(InvalidTextException inner) : Exception(inner.Message, inner);
