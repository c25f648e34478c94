using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace NPipes.Tests.Codec;

/// <summary>
/// The frame CRC (<see cref="FrameCrc"/>, and its 512-bit kernel where this CPU has one) is bit-identical to
/// System.IO.Hashing's <see cref="Crc32"/> for every length 0..8192 at every start alignment, and on large buffers.
/// Where the CPU lacks AVX-512/VPCLMULQDQ the kernel tests skip (saying so) and the rest test the fallback.
/// </summary>
public class CrcEquivalenceTests
{
    private const int MaxLength = 8192;
    private const int Alignments = 64;

    // One 64-byte-aligned window of random bytes, shared by every alignment case (a pinned array never moves).
    private static readonly Lazy<(byte[] Array, int Start)> s_aligned = new(() =>
    {
        byte[] array = GC.AllocateUninitializedArray<byte>(MaxLength + 2 * Alignments, pinned: true);
        new Random(8192).NextBytes(array);
        GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        long address = handle.AddrOfPinnedObject();
        handle.Free();
        return (array, (int)((Alignments - address % Alignments) % Alignments));
    });

    public static TheoryData<int> AlignmentCases() => new(Enumerable.Range(0, Alignments));

    [Theory]
    [MemberData(nameof(AlignmentCases))]
    public void Every_length_up_to_8192_matches_System_IO_Hashing(int alignment)
    {
        Log();
        ReadOnlySpan<byte> window = Window(alignment);
        for (int length = 0; length <= MaxLength; length++)
        {
            ReadOnlySpan<byte> data = window[..length];
            uint expected = Crc32.HashToUInt32(data);
            uint actual = FrameCrc.Compute(data);
            if (actual != expected)
            {
                Assert.Fail($"FrameCrc ({FrameCrc.PathName}): length {length} at alignment {alignment}: {actual:x8}, System.IO.Hashing {expected:x8}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(AlignmentCases))]
    public void Kernel_matches_System_IO_Hashing_for_every_length_it_takes(int alignment)
    {
        SkipUnlessKernel();
        ReadOnlySpan<byte> window = Window(alignment);
        for (int length = Crc32Avx512.MinimumLength; length <= MaxLength; length++)
        {
            ReadOnlySpan<byte> data = window[..length];
            uint expected = Crc32.HashToUInt32(data);
            uint actual = Crc32Avx512.Append(0, data);
            if (actual != expected)
            {
                Assert.Fail($"Crc32Avx512: length {length} at alignment {alignment}: {actual:x8}, System.IO.Hashing {expected:x8}");
            }
        }
    }

    [Theory]
    [InlineData(1 << 20, 1)]
    [InlineData((16 << 20) + 61, 2)]
    [InlineData((64 << 20) - 1, 3)]
    [InlineData(64 << 20, 4)]
    public void Large_random_buffers_match_System_IO_Hashing(int length, int seed)
    {
        Log();
        byte[] data = GC.AllocateUninitializedArray<byte>(length);
        new Random(seed).NextBytes(data);
        uint expected = Crc32.HashToUInt32(data);
        Assert.Equal(expected, FrameCrc.Compute(data));
        Assert.Equal(expected, FrameCodec.ComputeCrc(data));
        if (Crc32Avx512.IsSupported)
        {
            Assert.Equal(expected, Crc32Avx512.Append(0, data));
        }
    }

    [Fact]
    public void Known_values()
    {
        Assert.Equal(0u, FrameCrc.Compute([]));
        Assert.Equal(0xF7D18982u, FrameCrc.Compute("Hello"u8));
        Assert.Equal(0xCBF43926u, FrameCrc.Compute("123456789"u8)); // the CRC-32/ISO-HDLC check value
        byte[] zeros = new byte[4096];
        Assert.Equal(Crc32.HashToUInt32(zeros), FrameCrc.Compute(zeros));
        byte[] ones = Enumerable.Repeat((byte)0xFF, 4096).ToArray();
        Assert.Equal(Crc32.HashToUInt32(ones), FrameCrc.Compute(ones));
    }

    [Fact]
    public void Fold_constants_are_the_published_ones()
    {
        // Intel's fold-by-1 (128-bit) and zlib's fold-by-4 (512-bit) constants for the reflected CRC-32.
        Assert.Equal(0x1_7519_97D0UL, Crc32Avx512.FoldConstant(128 + 32));
        Assert.Equal(0x0_CCAA_009EUL, Crc32Avx512.FoldConstant(128 - 32));
        Assert.Equal(0x1_5444_2BD4UL, Crc32Avx512.FoldConstant(512 + 32));
        Assert.Equal(0x1_C6E4_1596UL, Crc32Avx512.FoldConstant(512 - 32));
    }

    private static ReadOnlySpan<byte> Window(int alignment) =>
        s_aligned.Value.Array.AsSpan(s_aligned.Value.Start + alignment, MaxLength);

    internal static void Log() =>
        TestContext.Current.TestOutputHelper?.WriteLine($"CRC path for inputs >= {FrameCrc.AcceleratedMinimum} bytes: {FrameCrc.PathName}");

    internal static void SkipUnlessKernel()
    {
        Assert.SkipUnless(Crc32Avx512.IsSupported,
            "This CPU lacks AVX-512/VPCLMULQDQ: the 512-bit kernel cannot run; the FrameCrc tests cover the System.IO.Hashing fallback.");
        Log();
    }
}
