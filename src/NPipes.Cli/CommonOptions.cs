using System.CommandLine;

namespace NPipes.Cli;

/// <summary>The frame and timeout options every pipe command shares, and how they become <see cref="NPipesOptions"/>.</summary>
internal sealed class CommonOptions
{
    /// <summary>The --encoding values accepted (as the Python CLI's), and the three it suggests for a typo.</summary>
    private static readonly string[] Encodings = ["ascii", "utf-8", "utf8", "latin-1", "latin1"];

    // Arity zero: "--crc yes" leaves "yes" over (as argparse's store_true), rather than parsing it as a bool.
    public Option<bool> Crc { get; } = new("--crc") { Description = "Carry and check the payload's CRC-32.", Arity = ArgumentArity.Zero };

    public Option<string> ByteOrder { get; } = OptionValues.Choice(
        "--byte-order",
        "Byte order of the frame's integers: big (npipes 1.0.1 as shipped; default) or little (npipes' documented default).",
        "big", ["big", "little"], ["big", "little"], value => value);

    public Option<string> Encoding { get; } = OptionValues.Choice(
        "--encoding", "Text encoding, strict: ascii (default), utf-8 or latin-1.",
        "ascii", Encodings, ["ascii", "latin-1", "utf-8"], value => value.StartsWith("utf", StringComparison.Ordinal) ? "utf-8" : value.StartsWith("latin", StringComparison.Ordinal) ? "latin-1" : value);

    public Option<double?> Timeout { get; } = OptionValues.Seconds("--timeout", "Give up after this many seconds (default: wait forever, as npipes does).");

    public Option<bool> SharedMemory { get; } = new("--shared-memory")
    {
        Description = "Send payloads of 64 KiB or more through shared memory, and accept them (Linux and Windows; the peer must opt in too: docs/shared-memory.md).",
        Arity = ArgumentArity.Zero,
    };

    /// <summary>Adds the frame options (the timeout, when <paramref name="withTimeout"/>; --shared-memory, when <paramref name="withSharedMemory"/>) to a command.</summary>
    public void AddTo(Command command, bool withTimeout = true, bool withSharedMemory = false)
    {
        command.Add(Crc);
        command.Add(ByteOrder);
        command.Add(Encoding);
        if (withTimeout)
        {
            command.Add(Timeout);
        }
        if (withSharedMemory)
        {
            command.Add(SharedMemory);
        }
    }

    /// <summary>Shared memory with the defaults when --shared-memory was given, else off.</summary>
    public SharedMemoryOptions? SharedMemoryOf(ParseResult result) => result.GetValue(SharedMemory) ? SharedMemoryOptions.Default : null;

    public FrameOptions Frame(ParseResult result) => new()
    {
        ByteOrder = result.GetValue(ByteOrder) == "little" ? NPipes.ByteOrder.LittleEndian : NPipes.ByteOrder.BigEndian,
        Encoding = TextEncodings.Parse(result.GetValue(Encoding)!),
        Crc = result.GetValue(Crc),
    };

    public NPipesOptions Pipe(ParseResult result) => new()
    {
        Frame = Frame(result),
        Timeout = result.GetValue(Timeout) is { } s ? TimeSpan.FromSeconds(s) : System.Threading.Timeout.InfiniteTimeSpan,
        SharedMemory = SharedMemoryOf(result),
    };

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
        try
        {
            return FrameCodec.GetText(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), frame);
        }
        catch (InvalidTextException e)
        {
            throw new StdinTextException(e);
        }
    }
}
