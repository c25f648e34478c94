using System.Buffers.Binary;
using System.IO.Hashing;

namespace NPipes.WindowsTests;

/// <summary>
/// A tiny, independent encoder/decoder of the npipes 1.0.1 frame, used as a test oracle.
/// It deliberately shares no code with src/NPipes.
/// <code>[u32 MessageLength = DataLength + 8][u32 DataLength][Data][u32 CRC-32 of Data, or 0]</code>
/// All three integers use one byte order (npipes 1.0.1 as shipped: big endian).
/// </summary>
public static class Frame
{
    /// <summary>Bytes before the payload: MessageLength and DataLength.</summary>
    public const int HeaderSize = 8;

    /// <summary>Bytes after the payload: the CRC field, always present.</summary>
    public const int TrailerSize = 4;

    public static byte[] Encode(ReadOnlySpan<byte> data, bool bigEndian, bool crc)
    {
        var frame = new byte[HeaderSize + data.Length + TrailerSize];
        Write(frame.AsSpan(0, 4), (uint)data.Length + 8, bigEndian);
        Write(frame.AsSpan(4, 4), (uint)data.Length, bigEndian);
        data.CopyTo(frame.AsSpan(HeaderSize));
        Write(frame.AsSpan(HeaderSize + data.Length, 4), crc ? Crc32.HashToUInt32(data) : 0u, bigEndian);
        return frame;
    }

    /// <summary>Decodes exactly one whole frame; throws <see cref="InvalidDataException"/> on any inconsistency.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> frame, bool bigEndian, bool crc)
    {
        if (frame.Length < HeaderSize + TrailerSize)
            throw new InvalidDataException($"frame of {frame.Length} bytes is shorter than the minimum of 12");
        uint messageLength = Read(frame[..4], bigEndian);
        uint dataLength = Read(frame.Slice(4, 4), bigEndian);
        if ((ulong)messageLength != (ulong)dataLength + 8)
            throw new InvalidDataException($"MessageLength {messageLength} != DataLength {dataLength} + 8");
        if ((ulong)frame.Length != 4UL + messageLength)
            throw new InvalidDataException($"frame has {frame.Length} bytes, header says {4UL + messageLength}");
        var data = frame.Slice(HeaderSize, (int)dataLength);
        uint field = Read(frame[^4..], bigEndian);
        if (crc)
        {
            uint actual = Crc32.HashToUInt32(data);
            if (actual != field)
                throw new InvalidDataException($"CRC mismatch: field 0x{field:X8}, payload 0x{actual:X8}");
        }
        return data.ToArray();
    }

    /// <summary>Total frame size (4 + MessageLength) from the first 4 bytes of a frame.</summary>
    public static long TotalLength(ReadOnlySpan<byte> first4, bool bigEndian) => 4L + Read(first4[..4], bigEndian);

    public static uint Read(ReadOnlySpan<byte> b, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    public static void Write(Span<byte> b, uint value, bool bigEndian)
    {
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, value);
        else BinaryPrimitives.WriteUInt32LittleEndian(b, value);
    }
}
