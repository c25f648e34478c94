using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace NPipes;

/// <summary>
/// Encodes and decodes the npipes 1.0.1 frame: <c>[MessageLength][DataLength][Data][CRC-32]</c>, where MessageLength is
/// DataLength + 8 and the CRC field is always present (0 when CRC is off). Pure buffer logic: no I/O.
/// </summary>
public static class FrameCodec
{
    /// <summary>The MessageLength and DataLength fields: 8 bytes.</summary>
    public const int HeaderLength = 8;

    /// <summary>The CRC-32 field after the payload: 4 bytes.</summary>
    public const int CrcLength = 4;

    /// <summary>Header plus CRC field: a frame is this many bytes longer than its payload.</summary>
    public const int Overhead = HeaderLength + CrcLength;

    /// <summary>Writes one frame around <paramref name="payload"/> to <paramref name="writer"/>.</summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds <see cref="FrameOptions.MaxPayloadLength"/>.</exception>
    public static void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> payload, FrameOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        CheckPayloadLength(payload.Length, options);
        int written = Write(writer.GetSpan(Overhead + payload.Length), payload, options);
        writer.Advance(written);
    }

    /// <summary>Writes one frame around <paramref name="payload"/> into <paramref name="destination"/> and returns its length.</summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds <see cref="FrameOptions.MaxPayloadLength"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the frame.</exception>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> payload, FrameOptions options)
    {
        CheckPayloadLength(payload.Length, options);
        int frameLength = Overhead + payload.Length;
        if (destination.Length < frameLength)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes but the frame needs {frameLength}.", nameof(destination));
        }
        WriteHeader(destination, (uint)payload.Length, options.ByteOrder);
        payload.CopyTo(destination[HeaderLength..]);
        WriteCrcField(destination.Slice(HeaderLength + payload.Length, CrcLength), options.Crc ? ComputeCrc(payload) : 0, options.ByteOrder);
        return frameLength;
    }

    /// <summary>Writes one frame carrying <paramref name="text"/> in the configured encoding.</summary>
    /// <exception cref="InvalidTextException">The text cannot be represented in the configured encoding.</exception>
    /// <exception cref="FrameTooLargeException">The encoded text exceeds <see cref="FrameOptions.MaxPayloadLength"/>.</exception>
    public static void WriteText(IBufferWriter<byte> writer, string text, FrameOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        int byteCount = GetByteCount(text, options);
        CheckPayloadLength(byteCount, options);
        writer.Advance(WriteText(writer.GetSpan(Overhead + byteCount), text, byteCount, options));
    }

    /// <summary>
    /// Writes one frame carrying <paramref name="text"/>, whose encoded length <paramref name="byteCount"/> the caller got
    /// from <see cref="GetByteCount"/>, into <paramref name="destination"/>; returns the frame's length.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The encoded text exceeds <see cref="FrameOptions.MaxPayloadLength"/>.</exception>
    internal static int WriteText(Span<byte> destination, string text, int byteCount, FrameOptions options)
    {
        CheckPayloadLength(byteCount, options);
        Span<byte> payload = destination.Slice(HeaderLength, byteCount);
        options.Encoding.GetBytes(text, payload);
        WriteHeader(destination, (uint)byteCount, options.ByteOrder);
        WriteCrcField(destination.Slice(HeaderLength + byteCount, CrcLength), options.Crc ? ComputeCrc(payload) : 0, options.ByteOrder);
        return Overhead + byteCount;
    }

    /// <summary>Returns the frame carrying <paramref name="text"/> as a new array.</summary>
    /// <exception cref="InvalidTextException">The text cannot be represented in the configured encoding.</exception>
    /// <exception cref="FrameTooLargeException">The encoded text exceeds <see cref="FrameOptions.MaxPayloadLength"/>.</exception>
    public static byte[] EncodeText(string text, FrameOptions options)
    {
        var writer = new ArrayBufferWriter<byte>(Overhead + GetByteCount(text, options));
        WriteText(writer, text, options);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Returns how many bytes <paramref name="text"/> takes in the configured encoding.</summary>
    /// <exception cref="InvalidTextException">The text cannot be represented in the configured encoding.</exception>
    internal static int GetByteCount(string text, FrameOptions options)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return options.Encoding.GetByteCount(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new InvalidTextException(options.Encoding.WebName, decoding: false, e);
        }
    }

    /// <summary>Writes the MessageLength and DataLength fields for a payload of <paramref name="dataLength"/> bytes.</summary>
    internal static void WriteHeader(Span<byte> destination, uint dataLength, ByteOrder byteOrder)
    {
        WriteUInt32(destination, dataLength + HeaderLength, byteOrder);
        WriteUInt32(destination[4..], dataLength, byteOrder);
    }

    /// <summary>Writes the 4-byte CRC field.</summary>
    internal static void WriteCrcField(Span<byte> destination, uint crc, ByteOrder byteOrder) => WriteUInt32(destination, crc, byteOrder);

    /// <summary>The CRC-32 (IEEE 802.3, as zlib computes it) of <paramref name="payload"/>.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> payload) => FrameCrc.Compute(payload);

    /// <summary>
    /// Reads and validates the header at the start of <paramref name="buffer"/>. Returns false while fewer than 8 bytes are there.
    /// An oversized MessageLength is rejected as soon as its 4 bytes arrive, before anything is allocated for the payload.
    /// </summary>
    /// <exception cref="FrameTooLargeException">A length exceeds <see cref="FrameOptions.MaxPayloadLength"/>.</exception>
    /// <exception cref="FrameLengthMismatchException">MessageLength is not DataLength + 8.</exception>
    public static bool TryReadHeader(ReadOnlySpan<byte> buffer, FrameOptions options, out FrameHeader header)
    {
        ArgumentNullException.ThrowIfNull(options);
        header = default;
        if (buffer.Length < 4)
        {
            return false;
        }
        uint messageLength = ReadUInt32(buffer, options.ByteOrder);
        if ((long)messageLength - HeaderLength > options.MaxPayloadLength)
        {
            throw new FrameTooLargeException((long)messageLength - HeaderLength, options.MaxPayloadLength, MismatchHint.Header(messageLength, null, options.MaxPayloadLength));
        }
        if (buffer.Length < HeaderLength)
        {
            return false;
        }
        uint dataLength = ReadUInt32(buffer[4..], options.ByteOrder);
        if (dataLength > options.MaxPayloadLength)
        {
            throw new FrameTooLargeException(dataLength, options.MaxPayloadLength, MismatchHint.Header(messageLength, dataLength, options.MaxPayloadLength));
        }
        if (messageLength != (ulong)dataLength + HeaderLength)
        {
            throw new FrameLengthMismatchException(messageLength, dataLength, MismatchHint.Header(messageLength, dataLength, options.MaxPayloadLength));
        }
        header = new FrameHeader(messageLength, dataLength);
        return true;
    }

    /// <summary>Decodes exactly one whole frame and returns its text.</summary>
    /// <exception cref="FrameException">The bytes are not exactly one valid frame, or the text is invalid in the encoding.</exception>
    public static string DecodeText(ReadOnlySpan<byte> frame, FrameOptions options)
    {
        if (!TryReadHeader(frame, options, out FrameHeader header) || frame.Length < header.FrameLength)
        {
            throw new IncompleteFrameException(frame.Length, frame.Length < HeaderLength ? 0 : (long)Overhead + header.DataLength);
        }
        if (frame.Length != header.FrameLength)
        {
            throw new FrameException($"Expected one frame of {header.FrameLength} bytes but got {frame.Length} bytes.");
        }
        ReadOnlySpan<byte> payload = frame.Slice(HeaderLength, (int)header.DataLength);
        if (options.Crc)
        {
            VerifyCrc(ComputeCrc(payload), ReadUInt32(frame[(HeaderLength + payload.Length)..], options.ByteOrder));
        }
        return GetText(payload, options);
    }

    /// <summary>Decodes a payload as text in the configured (strict) encoding.</summary>
    /// <exception cref="InvalidTextException">The bytes are not valid in the encoding.</exception>
    public static string GetText(ReadOnlySpan<byte> payload, FrameOptions options)
    {
        try
        {
            return options.Encoding.GetString(payload);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidTextException(options.Encoding.WebName, decoding: true, e);
        }
    }

    /// <summary>Throws <see cref="CrcMismatchException"/> unless the two CRCs agree.</summary>
    /// <exception cref="CrcMismatchException">They differ.</exception>
    internal static void VerifyCrc(uint actual, uint expected)
    {
        if (actual != expected)
        {
            throw new CrcMismatchException(expected, actual);
        }
    }

    /// <summary>Reads a 32-bit unsigned field in the given byte order.</summary>
    internal static uint ReadUInt32(ReadOnlySpan<byte> source, ByteOrder byteOrder) =>
        byteOrder == ByteOrder.LittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(source) : BinaryPrimitives.ReadUInt32BigEndian(source);

    internal static void WriteUInt32(Span<byte> destination, uint value, ByteOrder byteOrder)
    {
        if (byteOrder == ByteOrder.LittleEndian)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, value);
        }
    }

    internal static void CheckPayloadLength(long length, FrameOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (length > options.MaxPayloadLength)
        {
            throw new FrameTooLargeException(length, options.MaxPayloadLength);
        }
    }
}
