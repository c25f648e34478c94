using System.Buffers;
using System.IO.Hashing;

namespace NPipes.Tests.Codec;

/// <summary>
/// Hashing chunk by chunk (<see cref="FrameCrc.Append"/>, as readers and writers may) gives the one-shot CRC, on the
/// dispatching path, on the portable fallback and through <see cref="SequenceFrames.ComputeCrc"/>.
/// </summary>
public class CrcIncrementalTests
{
    private const int BufferLength = 1 << 20;

    public static TheoryData<int> Seeds() => new(Enumerable.Range(1, 12));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_chunks_give_the_one_shot_crc(int seed)
    {
        CrcEquivalenceTests.Log();
        var random = new Random(seed);
        byte[] data = new byte[BufferLength - random.Next(4096)];
        random.NextBytes(data);
        uint expected = Crc32.HashToUInt32(data);
        List<int> cuts = Chunks(random, data.Length);

        uint dispatched = 0, portable = 0;
        int offset = 0;
        foreach (int length in cuts)
        {
            ReadOnlySpan<byte> chunk = data.AsSpan(offset, length);
            dispatched = FrameCrc.Append(dispatched, chunk);
            portable = FrameCrc.AppendPortable(portable, chunk);
            offset += length;
            uint prefix = Crc32.HashToUInt32(data.AsSpan(0, offset));
            Assert.True(dispatched == prefix, $"FrameCrc ({FrameCrc.PathName}) after {offset} bytes (chunk of {length}): {dispatched:x8}, expected {prefix:x8}");
            Assert.True(portable == prefix, $"fallback after {offset} bytes (chunk of {length}): {portable:x8}, expected {prefix:x8}");
        }
        Assert.Equal(data.Length, offset);
        Assert.Equal(expected, dispatched);

        byte[][] parts = Split(data, cuts);
        Assert.Equal(expected, SequenceFrames.ComputeCrc(Segments.Of(parts)));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Kernel_continues_from_any_crc(int seed)
    {
        CrcEquivalenceTests.SkipUnlessKernel();
        var random = new Random(seed);
        byte[] data = new byte[20_000];
        random.NextBytes(data);
        for (int i = 0; i < 2000; i++)
        {
            int split = random.Next(0, 4000);
            int length = random.Next(Crc32Avx512.MinimumLength, data.Length - split);
            uint head = Crc32.HashToUInt32(data.AsSpan(0, split));
            uint actual = Crc32Avx512.Append(head, data.AsSpan(split, length));
            uint expected = Crc32.HashToUInt32(data.AsSpan(0, split + length));
            Assert.True(actual == expected, $"{split} bytes then {length}: {actual:x8}, expected {expected:x8}");
        }
    }

    [Fact]
    public void Tiny_chunks_after_any_prefix_give_the_one_shot_crc()
    {
        byte[] data = new byte[600];
        new Random(600).NextBytes(data);
        for (int split = 0; split < 300; split++)
        {
            uint head = Crc32.HashToUInt32(data.AsSpan(0, split));
            for (int length = 0; length <= 300; length += length < 8 ? 1 : 37)
            {
                uint expected = Crc32.HashToUInt32(data.AsSpan(0, split + length));
                Assert.Equal(expected, FrameCrc.AppendPortable(head, data.AsSpan(split, length)));
                Assert.Equal(expected, FrameCrc.Append(head, data.AsSpan(split, length)));
            }
        }
    }

    [Fact]
    public void A_single_segment_sequence_matches_the_span()
    {
        byte[] data = new byte[70_000];
        new Random(7).NextBytes(data);
        Assert.Equal(Crc32.HashToUInt32(data), SequenceFrames.ComputeCrc(new ReadOnlySequence<byte>(data)));
    }

    /// <summary>Chunk lengths covering empty, 1-3 byte, around-the-threshold and long chunks, summing to <paramref name="total"/>.</summary>
    private static List<int> Chunks(Random random, int total)
    {
        var cuts = new List<int>();
        int left = total;
        while (left > 0)
        {
            int length = random.Next(6) switch
            {
                0 => random.Next(0, 4),
                1 => random.Next(0, 64),
                2 => FrameCrc.AcceleratedMinimum + random.Next(-8, 9),
                3 => random.Next(64, 1024),
                4 => random.Next(1024, 16_384),
                _ => random.Next(16_384, 200_000),
            };
            length = Math.Min(length, left);
            cuts.Add(length);
            left -= length;
        }
        return cuts;
    }

    private static byte[][] Split(byte[] data, List<int> cuts)
    {
        var parts = new byte[cuts.Count][];
        int offset = 0;
        for (int i = 0; i < cuts.Count; i++)
        {
            parts[i] = data.AsSpan(offset, cuts[i]).ToArray();
            offset += cuts[i];
        }
        return parts;
    }
}
