using System.Buffers;
using System.Text;

namespace NPipes.Tests.Codec;

/// <summary>
/// Frame decoding over a <see cref="ReadOnlySequence{T}"/> (split buffers), for the codec's split-buffer and fuzz tests.
/// Not library API: the library reads frames with its FrameReader; this decoder exercises the public span primitives
/// (<see cref="FrameCodec.TryReadHeader"/>, <see cref="FrameCodec.ComputeCrc"/>) across arbitrary segment boundaries.
/// </summary>
internal static class SequenceFrames
{
    /// <summary>
    /// Decodes one frame from the start of <paramref name="buffer"/>: on success <paramref name="payload"/> is its payload
    /// (CRC-checked when CRC is on) and <paramref name="buffer"/> is advanced past it; false, buffer untouched, while incomplete.
    /// </summary>
    public static bool TryDecode(ref ReadOnlySequence<byte> buffer, FrameOptions options, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        Span<byte> headerBytes = stackalloc byte[FrameCodec.HeaderLength];
        int available = (int)Math.Min(buffer.Length, FrameCodec.HeaderLength);
        buffer.Slice(0, available).CopyTo(headerBytes);
        if (!FrameCodec.TryReadHeader(headerBytes[..available], options, out FrameHeader header) || buffer.Length < header.FrameLength)
        {
            return false;
        }
        ReadOnlySequence<byte> data = buffer.Slice(FrameCodec.HeaderLength, header.DataLength);
        Span<byte> crcField = stackalloc byte[FrameCodec.CrcLength];
        buffer.Slice(FrameCodec.HeaderLength + (long)header.DataLength, FrameCodec.CrcLength).CopyTo(crcField);
        if (options.Crc)
        {
            FrameCodec.VerifyCrc(ComputeCrc(data), FrameCodec.ReadUInt32(crcField, options.ByteOrder));
        }
        payload = data;
        buffer = buffer.Slice(header.FrameLength);
        return true;
    }

    /// <summary>The CRC-32 of a split payload, carried across segments.</summary>
    public static uint ComputeCrc(in ReadOnlySequence<byte> payload)
    {
        uint crc = 0;
        foreach (ReadOnlyMemory<byte> segment in payload)
        {
            crc = FrameCrc.Append(crc, segment.Span);
        }
        return crc;
    }

    /// <summary>A split payload as text, strictly decoded.</summary>
    public static string GetText(in ReadOnlySequence<byte> payload, FrameOptions options)
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
}
