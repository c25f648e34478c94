using System.Buffers.Binary;

namespace NPipes;

/// <summary>
/// The descriptor frame of docs/shared-memory.md §2: an npipes frame whose MessageLength is
/// <c>(DataLength + 8) XOR 0x80000000</c> and whose 32-byte payload describes a payload that travels in a sealed
/// shared-memory file. Pure encode, decode and validation; no I/O.
/// </summary>
internal readonly record struct SharedMemoryDescriptor(long Length, uint PayloadCrc, uint Kind = SharedMemoryDescriptor.KindMemfd, long Position = 0, uint Flags = 0)
{
    /// <summary>The descriptor's length (its frame's DataLength).</summary>
    public const int DescriptorLength = 32;

    /// <summary>A whole descriptor frame: header, descriptor, CRC field.</summary>
    public const int FrameLength = FrameCodec.Overhead + DescriptorLength;

    /// <summary>The bit flipped in MessageLength that marks a descriptor frame (an ordinary frame never has it equal to DataLength + 8 XOR this).</summary>
    public const uint DescriptorFlag = 0x80000000;

    /// <summary>A descriptor frame's MessageLength field: (32 + 8) XOR 0x80000000.</summary>
    public const uint DescriptorMessageLength = (DescriptorLength + FrameCodec.HeaderLength) ^ DescriptorFlag;

    /// <summary>The only version.</summary>
    public const uint Version = 1;

    /// <summary>Kind 1: a Linux memfd that arrives with the frame.</summary>
    public const uint KindMemfd = 1;

    /// <summary>Kind 2: a slot of the connection's ring (§8).</summary>
    public const uint KindRing = 2;

    /// <summary>Kind 3: a Windows ring's section, to attach (§9): length is its size, position the handle's value in the sender's process; no payload.</summary>
    public const uint KindAttach = 3;

    /// <summary>Kind 2's flags bit 0: the ring's file arrives with this frame (§8).</summary>
    public const uint FlagRingFile = 1;

    /// <summary>The ring's control page (§8): its first 8 bytes are the receiver's <c>consumed</c>.</summary>
    public const int RingControlLength = 4096;

    /// <summary>The largest ring a receiver accepts (§8): 1 GiB.</summary>
    public const long MaxRingCapacity = 1L << 30;

    /// <summary>The one ring frame that announces the ring's file.</summary>
    public bool CarriesRing => (Flags & FlagRingFile) != 0;

    /// <summary>Writes the whole descriptor frame for a payload of <paramref name="length"/> bytes whose CRC (0 with CRC off) is <paramref name="payloadCrc"/>.</summary>
    public static void WriteFrame(Span<byte> destination, long length, uint payloadCrc, FrameOptions options) =>
        WriteFrame(destination, new SharedMemoryDescriptor(length, payloadCrc), options);

    /// <summary>Writes the whole descriptor frame of <paramref name="value"/> (its CRC field left 0 with CRC off).</summary>
    public static void WriteFrame(Span<byte> destination, SharedMemoryDescriptor value, FrameOptions options)
    {
        (long length, uint payloadCrc) = (value.Length, value.PayloadCrc);
        Span<byte> frame = destination[..FrameLength];
        frame.Clear();
        FrameCodec.WriteUInt32(frame, DescriptorMessageLength, options.ByteOrder);
        FrameCodec.WriteUInt32(frame[4..], DescriptorLength, options.ByteOrder);
        Span<byte> descriptor = frame.Slice(FrameCodec.HeaderLength, DescriptorLength);
        FrameCodec.WriteUInt32(descriptor, Version, options.ByteOrder);
        FrameCodec.WriteUInt32(descriptor[4..], value.Kind, options.ByteOrder);
        WriteUInt64(descriptor[8..], (ulong)length, options.ByteOrder);
        FrameCodec.WriteUInt32(descriptor[16..], options.Crc ? payloadCrc : 0, options.ByteOrder);
        WriteUInt64(descriptor[20..], (ulong)value.Position, options.ByteOrder);
        FrameCodec.WriteUInt32(descriptor[28..], value.Flags, options.ByteOrder);
        FrameCodec.WriteCrcField(frame[(FrameCodec.HeaderLength + DescriptorLength)..], options.Crc ? FrameCodec.ComputeCrc(descriptor) : 0, options.ByteOrder);
    }

    /// <summary>
    /// Whether the header at the start of <paramref name="buffer"/> is a descriptor frame's. Null while more bytes are
    /// needed to tell (the top bit of MessageLength is set but DataLength has not arrived).
    /// </summary>
    /// <exception cref="SharedMemoryException">The header is a descriptor frame's, but its DataLength is not 32.</exception>
    public static bool? IsDescriptorHeader(ReadOnlySpan<byte> buffer, ByteOrder byteOrder)
    {
        if (buffer.Length < 4)
        {
            return null;
        }
        uint messageLength = FrameCodec.ReadUInt32(buffer, byteOrder);
        if ((messageLength & DescriptorFlag) == 0)
        {
            return false;
        }
        if (buffer.Length < FrameCodec.HeaderLength)
        {
            return null;
        }
        uint dataLength = FrameCodec.ReadUInt32(buffer[4..], byteOrder);
        if ((ulong)(messageLength ^ DescriptorFlag) != (ulong)dataLength + FrameCodec.HeaderLength)
        {
            return false; // not a descriptor: the ordinary header check reports it
        }
        return dataLength == DescriptorLength
            ? true
            : throw new SharedMemoryException($"Malformed shared-memory descriptor frame: DataLength is {dataLength}, not {DescriptorLength}.");
    }

    /// <summary>Decodes and validates the 32-byte descriptor (§2): version, kind, the position and flags the kind allows, length.</summary>
    /// <exception cref="SharedMemoryException">A field is not valid.</exception>
    public static SharedMemoryDescriptor Decode(ReadOnlySpan<byte> descriptor, ByteOrder byteOrder)
    {
        if (descriptor.Length != DescriptorLength)
        {
            throw new SharedMemoryException($"Malformed shared-memory descriptor: {descriptor.Length} bytes, not {DescriptorLength}.");
        }
        uint version = FrameCodec.ReadUInt32(descriptor, byteOrder);
        if (version != Version)
        {
            throw new SharedMemoryException($"Unsupported shared-memory descriptor version {version} (this side speaks version {Version}).");
        }
        uint kind = FrameCodec.ReadUInt32(descriptor[4..], byteOrder);
        if (kind is not (KindMemfd or KindRing or KindAttach))
        {
            throw new SharedMemoryException($"Unknown shared-memory descriptor kind {kind} (this side knows kinds {KindMemfd}, a Linux memfd, {KindRing}, a ring slot, and {KindAttach}, a Windows ring to attach).");
        }
        ulong position = ReadUInt64(descriptor[20..], byteOrder);
        uint flags = FrameCodec.ReadUInt32(descriptor[28..], byteOrder);
        bool allowed = kind switch
        {
            KindMemfd => position == 0 && flags == 0,
            KindRing => position <= long.MaxValue && (flags & ~FlagRingFile) == 0,
            _ => position <= long.MaxValue && flags == 0,
        };
        if (!allowed)
        {
            throw new SharedMemoryException($"Malformed shared-memory descriptor: kind {kind} does not allow position {position} with flags 0x{flags:x}.");
        }
        ulong length = ReadUInt64(descriptor[8..], byteOrder);
        if (length == 0 || length > long.MaxValue)
        {
            throw new SharedMemoryException($"Malformed shared-memory descriptor: a payload length of {length} bytes never travels through shared memory.");
        }
        return new SharedMemoryDescriptor((long)length, FrameCodec.ReadUInt32(descriptor[16..], byteOrder), kind, (long)position, flags);
    }

    private static ulong ReadUInt64(ReadOnlySpan<byte> source, ByteOrder byteOrder) =>
        byteOrder == ByteOrder.LittleEndian ? BinaryPrimitives.ReadUInt64LittleEndian(source) : BinaryPrimitives.ReadUInt64BigEndian(source);

    private static void WriteUInt64(Span<byte> destination, ulong value, ByteOrder byteOrder)
    {
        if (byteOrder == ByteOrder.LittleEndian)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, value);
        }
    }
}
