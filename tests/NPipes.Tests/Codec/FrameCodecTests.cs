using System.Buffers;
using System.Buffers.Binary;

namespace NPipes.Tests.Codec;

public class FrameCodecTests
{
    private static readonly FrameOptions Crc = new() { Crc = true };

    [Theory]
    [InlineData(ByteOrder.BigEndian)]
    [InlineData(ByteOrder.LittleEndian)]
    public void A_frame_split_at_every_offset_decodes_the_same(ByteOrder order)
    {
        var options = new FrameOptions { ByteOrder = order, Crc = true };
        byte[] frame = FrameCodec.EncodeText("The quick brown fox", options);
        for (int cut = 0; cut <= frame.Length; cut++)
        {
            ReadOnlySequence<byte> whole = Segments.Of(frame[..cut], frame[cut..]);
            Assert.True(SequenceFrames.TryDecode(ref whole, options, out ReadOnlySequence<byte> payload), $"cut at {cut}");
            Assert.Equal("The quick brown fox", SequenceFrames.GetText(payload, options));
            Assert.Equal(0, whole.Length);

            ReadOnlySequence<byte> partial = Segments.Of(frame[..cut]);
            Assert.Equal(cut == frame.Length, SequenceFrames.TryDecode(ref partial, options, out _));
        }
    }

    [Fact]
    public void A_frame_in_one_byte_segments_decodes()
    {
        byte[] frame = FrameCodec.EncodeText("split everywhere", Crc);
        ReadOnlySequence<byte> seq = Segments.Of(frame.Select(b => new[] { b }).ToArray());
        Assert.True(SequenceFrames.TryDecode(ref seq, Crc, out ReadOnlySequence<byte> payload));
        Assert.Equal("split everywhere", SequenceFrames.GetText(payload, Crc));
    }

    [Fact]
    public void Two_frames_back_to_back_decode_in_order()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameCodec.WriteText(writer, "one", Crc);
        FrameCodec.Write(writer, "two"u8, Crc);
        var seq = new ReadOnlySequence<byte>(writer.WrittenMemory);
        Assert.True(SequenceFrames.TryDecode(ref seq, Crc, out var first));
        Assert.True(SequenceFrames.TryDecode(ref seq, Crc, out var second));
        Assert.Equal("one", SequenceFrames.GetText(first, Crc));
        Assert.Equal("two", SequenceFrames.GetText(second, Crc));
        Assert.False(SequenceFrames.TryDecode(ref seq, Crc, out _));
    }

    [Fact]
    public void Crc_mismatch_is_a_typed_error()
    {
        byte[] frame = FrameCodec.EncodeText("Hello", Crc);
        frame[8] ^= 1;
        var e = Assert.Throws<CrcMismatchException>(() => FrameCodec.DecodeText(frame, Crc));
        Assert.Equal(0xF7D18982u, e.Expected);
        Assert.NotEqual(e.Expected, e.Actual);
    }

    [Fact]
    public void Crc_is_not_checked_when_off_and_zero_is_written()
    {
        byte[] frame = FrameCodec.EncodeText("Hello", FrameOptions.Default);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(^4)));
        frame[^1] = 0x55; // garbage in the CRC field is ignored with CRC off, as npipes does
        Assert.Equal("Hello", FrameCodec.DecodeText(frame, FrameOptions.Default));
    }

    [Theory]
    [InlineData(0xFFFFFFFFu)]
    [InlineData(0x7FFFFFF0u)]
    [InlineData((uint)FrameOptions.DefaultMaxPayloadLength + 9)]
    public void An_oversized_length_prefix_is_refused_from_its_first_four_bytes(uint messageLength)
    {
        byte[] prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, messageLength);
        var e = Assert.Throws<FrameTooLargeException>(() => FrameCodec.TryReadHeader(prefix, FrameOptions.Default, out _));
        Assert.Equal(FrameOptions.DefaultMaxPayloadLength, e.MaxPayloadLength);
        Assert.Contains("exceeds the maximum", e.Message);
    }

    [Fact]
    public void An_oversized_data_length_is_refused()
    {
        var options = new FrameOptions { MaxPayloadLength = 100 };
        byte[] header = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(header, 50);          // MessageLength within limit
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 101); // DataLength above it
        Assert.Throws<FrameTooLargeException>(() => FrameCodec.TryReadHeader(header, options, out _));
    }

    [Fact]
    public void Exactly_the_maximum_is_accepted_and_one_more_refused()
    {
        var options = new FrameOptions { MaxPayloadLength = 10 };
        Assert.Equal("0123456789", FrameCodec.DecodeText(FrameCodec.EncodeText("0123456789", options), options));
        Assert.Throws<FrameTooLargeException>(() => FrameCodec.EncodeText("0123456789A", options));
    }

    [Fact]
    public void MessageLength_not_DataLength_plus_8_is_refused()
    {
        byte[] frame = FrameCodec.EncodeText("Hello", FrameOptions.Default);
        BinaryPrimitives.WriteUInt32BigEndian(frame, 14);
        var e = Assert.Throws<FrameLengthMismatchException>(() => FrameCodec.DecodeText(frame, FrameOptions.Default));
        Assert.Equal(14u, e.MessageLength);
        Assert.Equal(5u, e.DataLength);
    }

    [Fact]
    public void Ascii_refuses_a_byte_above_0x7F_instead_of_substituting()
    {
        var latin1 = new FrameOptions { Encoding = TextEncodings.Latin1 };
        byte[] frame = FrameCodec.EncodeText("café", latin1);
        Assert.Throws<InvalidTextException>(() => FrameCodec.DecodeText(frame, FrameOptions.Default));
        Assert.Throws<InvalidTextException>(() => FrameCodec.EncodeText("café", FrameOptions.Default));
    }

    [Fact]
    public void A_lenient_encoding_given_by_the_caller_is_made_strict()
    {
        var options = new FrameOptions { Encoding = System.Text.Encoding.ASCII };
        Assert.Throws<InvalidTextException>(() => FrameCodec.EncodeText("é", options));
    }

    [Fact]
    public void Invalid_utf8_is_refused()
    {
        var utf8 = new FrameOptions { Encoding = TextEncodings.Utf8 };
        byte[] frame = new byte[13];
        FrameCodec.Write(frame, new byte[] { 0xC3 }, utf8); // a lone lead byte
        Assert.Throws<InvalidTextException>(() => FrameCodec.DecodeText(frame, utf8));
    }

    [Fact]
    public void Utf8_crc_is_over_the_payload_bytes()
    {
        var utf8 = new FrameOptions { Encoding = TextEncodings.Utf8, Crc = true };
        byte[] frame = FrameCodec.EncodeText("héllo ✓", utf8);
        byte[] payload = System.Text.Encoding.UTF8.GetBytes("héllo ✓");
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(payload), BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(^4)));
        Assert.Equal("héllo ✓", FrameCodec.DecodeText(frame, utf8));
    }

    [Fact]
    public void Crc_of_Hello_is_the_zlib_value() => Assert.Equal(0xF7D18982u, FrameCodec.ComputeCrc("Hello"u8));

    [Fact]
    public void Max_payload_cannot_exceed_the_format_limit()
    {
        Assert.Equal(4294967287L, FrameOptions.FormatMaxPayloadLength);
        _ = new FrameOptions { MaxPayloadLength = FrameOptions.FormatMaxPayloadLength };
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameOptions { MaxPayloadLength = FrameOptions.FormatMaxPayloadLength + 1 });
    }

    [Fact]
    public void A_truncated_or_padded_single_frame_is_refused()
    {
        byte[] frame = FrameCodec.EncodeText("Hello", FrameOptions.Default);
        Assert.Throws<IncompleteFrameException>(() => FrameCodec.DecodeText(frame[..^1], FrameOptions.Default));
        Assert.Throws<IncompleteFrameException>(() => FrameCodec.DecodeText(frame[..3], FrameOptions.Default));
        Assert.Throws<FrameException>(() => FrameCodec.DecodeText([.. frame, 0], FrameOptions.Default));
    }

    [Fact]
    public void Encoding_names_parse_and_unknown_ones_are_refused()
    {
        Assert.Same(TextEncodings.Utf8, TextEncodings.Parse("UTF-8"));
        Assert.Same(TextEncodings.Latin1, TextEncodings.Parse("latin-1"));
        Assert.Same(TextEncodings.Ascii, TextEncodings.Parse("ascii"));
        Assert.Throws<ArgumentException>(() => TextEncodings.Parse("klingon"));
    }
}
