using System.IO.Hashing;

namespace NPipes.Tests.Codec;

/// <summary>
/// Copying and hashing in one pass (<see cref="FrameCrc.CopyAndCompute"/>, and the 512-bit kernel's
/// <see cref="Crc32Avx512.CopyAndAppend"/> where this CPU has it; docs/shared-memory.md §8): the destination holds exactly
/// the source, nothing past it is touched, and the CRC is System.IO.Hashing's, for every length up to 4096 at several
/// source and destination offsets, and on large buffers.
/// </summary>
public class CrcCopyTests
{
    private const int MaxLength = 4096;

    public static TheoryData<int, int> OffsetCases() => new() { { 0, 0 }, { 1, 0 }, { 0, 7 }, { 13, 33 }, { 63, 1 } };

    [Theory]
    [MemberData(nameof(OffsetCases))]
    public void Every_length_copies_exactly_and_hashes_what_it_wrote(int sourceOffset, int destinationOffset)
    {
        CrcEquivalenceTests.Log();
        byte[] source = new byte[sourceOffset + MaxLength];
        new Random(sourceOffset * 100 + destinationOffset).NextBytes(source);
        byte[] destination = new byte[destinationOffset + MaxLength + 64];
        for (int length = 0; length <= MaxLength; length++)
        {
            Array.Fill(destination, (byte)0xA5);
            ReadOnlySpan<byte> from = source.AsSpan(sourceOffset, length);
            uint crc = FrameCrc.CopyAndCompute(from, destination.AsSpan(destinationOffset, length + 64), crc: true);
            Check(from, destination, destinationOffset, crc, length);
            Assert.Equal(0u, FrameCrc.CopyAndCompute(from, destination.AsSpan(destinationOffset), crc: false));
        }
    }

    [Theory]
    [MemberData(nameof(OffsetCases))]
    public void Kernel_copies_exactly_and_appends_to_a_previous_crc(int sourceOffset, int destinationOffset)
    {
        CrcEquivalenceTests.SkipUnlessKernel();
        byte[] source = new byte[sourceOffset + MaxLength];
        new Random(7 + sourceOffset).NextBytes(source);
        byte[] destination = new byte[destinationOffset + MaxLength + 64];
        uint head = Crc32.HashToUInt32("head"u8);
        for (int length = Crc32Avx512.MinimumLength; length <= MaxLength; length++)
        {
            Array.Fill(destination, (byte)0xA5);
            ReadOnlySpan<byte> from = source.AsSpan(sourceOffset, length);
            uint crc = Crc32Avx512.CopyAndAppend(head, from, destination.AsSpan(destinationOffset, length + 64));
            Assert.True(from.SequenceEqual(destination.AsSpan(destinationOffset, length)), $"length {length}: the copy differs");
            Assert.Equal(FrameCrc.Append(head, from), crc);
        }
    }

    [Theory]
    [InlineData(1 << 20, 1)]
    [InlineData((16 << 20) + 61, 2)]
    public void Large_buffers_copy_exactly_and_hash_what_was_written(int length, int seed)
    {
        byte[] source = GC.AllocateUninitializedArray<byte>(length);
        new Random(seed).NextBytes(source);
        byte[] destination = new byte[length + 64];
        Array.Fill(destination, (byte)0xA5);
        uint crc = FrameCrc.CopyAndCompute(source, destination, crc: true);
        Check(source, destination, 0, crc, length);
    }

    private static void Check(ReadOnlySpan<byte> source, byte[] destination, int destinationOffset, uint crc, int length)
    {
        Assert.True(source.SequenceEqual(destination.AsSpan(destinationOffset, length)), $"length {length}: the copy differs");
        Assert.True(destination.AsSpan(0, destinationOffset).IndexOfAnyExcept((byte)0xA5) < 0, $"length {length}: a byte before the destination was written");
        Assert.True(destination.AsSpan(destinationOffset + length).IndexOfAnyExcept((byte)0xA5) < 0, $"length {length}: a byte past the copy was written");
        Assert.Equal(Crc32.HashToUInt32(source), crc);
    }
}
