using System.Buffers.Binary;

namespace NPipes;

/// <summary>
/// Every "likely cause" an error names, written once here (Python: python/npipes/_hints.py, the same rules and words;
/// one member per cause). Used by the frame checks, the request path, the RPC client and the CLI. A hint names what
/// usually causes an error and never claims to know: a server that refuses a frame looks to its client exactly like
/// one that stopped (docs/wire-format.md §6).
/// </summary>
internal static class MismatchHint
{
    /// <summary>The question a header that makes sense only in the other byte order raises.</summary>
    public const string ByteOrderQuestion = "Does the peer use another byte order?";

    /// <summary>What a header that is a shared-memory descriptor frame's means to a receiver without shared memory (docs/shared-memory.md §1).</summary>
    public const string SharedMemoryCause = "The peer sends shared-memory frames (docs/shared-memory.md): turn shared memory on here too (NPipesOptions.SharedMemory, --shared-memory).";

    /// <summary>The CLI's line for it (docs/shared-memory.md §1).</summary>
    public const string SharedMemoryOption = "the peer sends shared-memory frames: use --shared-memory on both sides, or on neither";

    /// <summary>Why a server closes a connection without replying, and what to check.</summary>
    public const string ServerCloses = "a server closes a connection whose frame it cannot read: " +
        "check that both sides use the same CRC setting, byte order, encoding and maximum message size";

    /// <summary>A request whose peer closed the connection before replying.</summary>
    public const string NoReply = "The server closed the connection without replying; " + ServerCloses + ".";

    /// <summary>The MessageLength bit a descriptor frame sets (docs/shared-memory.md §2).</summary>
    private const uint SharedBit = 0x80000000;

    /// <summary>A descriptor's DataLength plus room above it: with DataLength unknown, a MessageLength this close above the bit is enough to suspect one.</summary>
    private const uint DescriptorAndSlack = 32 + 32;

    /// <summary>
    /// " Does the peer use another byte order?" when the header read in the other byte order is a plausible frame
    /// (MessageLength of at least 8 whose payload fits the limit, and DataLength + 8 equal to it when it was read);
    /// otherwise "". A byte-order mismatch turns a 5-byte payload into one of 218,103,800 bytes.
    /// </summary>
    public static string ByteOrder(uint messageLength, uint? dataLength, long maxPayloadLength)
    {
        uint swapped = BinaryPrimitives.ReverseEndianness(messageLength);
        bool plausible = swapped >= 8 && swapped - 8L <= maxPayloadLength
            && (dataLength is not { } data || (ulong)BinaryPrimitives.ReverseEndianness(data) + 8 == swapped);
        return plausible ? " " + ByteOrderQuestion : "";
    }

    /// <summary>The byte-order question for the CLI (<paramref name="option"/> "--byte-order").</summary>
    public static string AnotherByteOrder(string option) => $"does the peer use another {option}?";

    /// <summary>
    /// Whether the header is a shared-memory descriptor frame's, in either byte order: MessageLength == (DataLength + 8)
    /// XOR 0x80000000, or, before DataLength was read, MessageLength just above 0x80000000.
    /// </summary>
    public static bool IsSharedMemory(uint messageLength, uint? dataLength) =>
        IsDescriptor(messageLength, dataLength)
        || IsDescriptor(BinaryPrimitives.ReverseEndianness(messageLength), dataLength is { } data ? BinaryPrimitives.ReverseEndianness(data) : null);

    /// <summary>" The peer sends shared-memory frames ..." for a descriptor frame's header read without shared memory; otherwise "".</summary>
    public static string SharedMemory(uint messageLength, uint? dataLength = null) => IsSharedMemory(messageLength, dataLength) ? " " + SharedMemoryCause : "";

    private static bool IsDescriptor(uint messageLength, uint? dataLength) => dataLength is { } data
        ? messageLength == (uint)((data + 8UL) ^ SharedBit)
        : messageLength is >= SharedBit and <= SharedBit + 8 + DescriptorAndSlack;

    /// <summary>The hint of a bad header: shared memory when it is a descriptor frame's, else the byte-order question when that fits.</summary>
    public static string Header(uint messageLength, uint? dataLength, long maxPayloadLength) =>
        IsSharedMemory(messageLength, dataLength) ? SharedMemory(messageLength, dataLength) : ByteOrder(messageLength, dataLength, maxPayloadLength);

    /// <summary>A request whose server closed the connection before it took the whole frame (<paramref name="detail"/>: what the OS said).</summary>
    public static string CutWhileSending(string detail) =>
        $"The server closed the connection before it read the whole request ({detail}); {ServerCloses}.";

    /// <summary>An Ipc send that timed out after peers took <paramref name="times"/> connections but not the message.</summary>
    public static string ClosedUnread(int times) =>
        $"A peer took the connection but not the message ({times} {(times == 1 ? "time" : "times")}): another sender, or a receiver that could not read the frame ({ServerCloses}).";

    /// <summary>A call whose connection the peer closed before answering it.</summary>
    public static string LostBeforeAnswer(string method, string cause) =>
        $"connection lost before '{method}' was answered: {cause}; {ServerCloses}";

    /// <summary>A frame whose CRC field is 0 read with CRC on (<paramref name="option"/>: "--crc" in the CLI).</summary>
    public static string NoCrc(string option) => $"the frame carries no CRC (field 0): use {option} on both sides, or on neither";

    /// <summary>Text that does not decode: the encoding to try (CLI).</summary>
    public static string OtherEncoding(string other) => $"try --encoding {other} (both sides must use the same)";
}
