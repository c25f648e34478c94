using System.Buffers.Binary;

namespace NPipes;

/// <summary>
/// The hint a frame error carries when the two sides likely disagree on a setting, written once here (Python:
/// python/npipes/_hints.py, the same rule and words).
/// </summary>
internal static class MismatchHint
{
    /// <summary>The question a header that makes sense only in the other byte order raises.</summary>
    public const string ByteOrderQuestion = "Does the peer use another byte order?";

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

    /// <summary>
    /// " The peer sends shared-memory frames: ..." when <paramref name="messageLength"/> is that of a descriptor frame
    /// (docs/shared-memory.md §2: 40 XOR 0x80000000, in either byte order) read by a side without shared memory; otherwise "".
    /// </summary>
    public static string SharedMemory(uint messageLength) =>
        messageLength == SharedMemoryDescriptor.DescriptorMessageLength || BinaryPrimitives.ReverseEndianness(messageLength) == SharedMemoryDescriptor.DescriptorMessageLength
            ? " The peer sends shared-memory frames (docs/shared-memory.md): turn shared memory on here too (NPipesOptions.SharedMemory, --shared-memory)."
            : "";
}
