using System.CommandLine;
using System.Globalization;

namespace NPipes.Cli;

/// <summary>The frame and timeout options every pipe command shares, and how they become <see cref="NPipesOptions"/>.</summary>
internal sealed class CommonOptions
{
    public Option<bool> Crc { get; } = new("--crc") { Description = "Carry and check the payload's CRC-32." };

    public Option<string> ByteOrder { get; } = new("--byte-order")
    {
        Description = "Byte order of the frame's integers: big (npipes 1.0.1 as shipped; default) or little (npipes' documented default).",
        DefaultValueFactory = _ => "big",
    };

    public Option<string> Encoding { get; } = new("--encoding")
    {
        Description = "Text encoding: ascii (default), utf-8 or latin-1.",
        DefaultValueFactory = _ => "ascii",
    };

    public Option<double?> Timeout { get; } = new("--timeout") { Description = "Give up after this many seconds (default: wait forever, as npipes does)." };

    public CommonOptions()
    {
        ByteOrder.AcceptOnlyFromAmong("big", "little");
        Encoding.AcceptOnlyFromAmong("ascii", "utf-8", "utf8", "latin-1", "latin1");
    }

    /// <summary>Adds the frame options (and the timeout, when <paramref name="withTimeout"/>) to a command.</summary>
    public void AddTo(Command command, bool withTimeout = true)
    {
        command.Add(Crc);
        command.Add(ByteOrder);
        command.Add(Encoding);
        if (withTimeout)
        {
            command.Add(Timeout);
        }
    }

    public FrameOptions Frame(ParseResult result) => new()
    {
        ByteOrder = result.GetValue(ByteOrder) == "little" ? NPipes.ByteOrder.LittleEndian : NPipes.ByteOrder.BigEndian,
        Encoding = TextEncodings.Parse(result.GetValue(Encoding)!),
        Crc = result.GetValue(Crc),
    };

    public NPipesOptions Pipe(ParseResult result)
    {
        double? seconds = result.GetValue(Timeout);
        if (seconds is < 0)
        {
            throw new ArgumentException("--timeout must be zero or more seconds, not " + seconds.Value.ToString(CultureInfo.InvariantCulture) + ".");
        }
        return new NPipesOptions
        {
            Frame = Frame(result),
            Timeout = seconds is { } s ? TimeSpan.FromSeconds(s) : System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>TEXT, or the whole of standard input byte for byte when TEXT is "-", validated in the encoding.</summary>
    public static string ReadText(string text, FrameOptions frame)
    {
        if (text != "-")
        {
            return text;
        }
        using var stdin = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        // Strict decoding: bytes invalid in the encoding are an error; valid ones round-trip to the same bytes on send.
        return FrameCodec.GetText(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), frame);
    }
}
