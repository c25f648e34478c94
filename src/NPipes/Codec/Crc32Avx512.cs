using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NPipes;

/// <summary>
/// CRC-32 (IEEE 802.3, reflected, the zlib and <see cref="Crc32"/> value) folding 512 bits per carry-less multiply
/// (VPCLMULQDQ on AVX-512): Intel's "fast CRC computation using PCLMULQDQ" method with four 128-bit lanes per
/// register, as GNU coreutils' cksum does for its (unreflected) CRC. Callers check <see cref="IsSupported"/> first.
/// </summary>
/// <remarks>
/// The method: a 128-bit lane L of reflected data, whose low qword holds the higher-degree coefficients, moves D bits
/// further along the message (L·x^D mod P) as clmul(lo, K(D+32)) ^ clmul(hi, K(D-32)), where K(e) is x^e mod P,
/// bit-reflected and shifted left one bit (the reflected product comes out one bit short). Folding keeps the running
/// value congruent, mod P, to everything hashed so far, so the last 16 bytes of fold plus the unfolded tail hash to the
/// same CRC as the whole input: <see cref="Crc32"/> computes that short final step, so no Barrett reduction is written
/// here. The previous CRC is carried in by XOR-ing its register into the first 4 bytes, the same trick by which the
/// standard initial value 0xFFFFFFFF works.
/// </remarks>
internal static partial class Crc32Avx512
{
    /// <summary>The fewest bytes <see cref="Append"/> takes: one 512-bit block.</summary>
    public const int MinimumLength = 64;

    /// <summary>Bytes per iteration of the main loop: four independent 512-bit accumulators hide the multiply latency.</summary>
    private const int StrideLength = 4 * 64;

    /// <summary>Whether this CPU and runtime have the instructions (a JIT-time constant).</summary>
    public static bool IsSupported => Pclmulqdq.V512.IsSupported && Avx512F.IsSupported;

    // Fold constants for each distance the kernel moves data by, in every 128-bit lane.
    private static readonly Vector512<ulong> Fold2048 = Broadcast(2048);
    private static readonly Vector512<ulong> Fold1536 = Broadcast(1536);
    private static readonly Vector512<ulong> Fold1024 = Broadcast(1024);
    private static readonly Vector512<ulong> Fold512 = Broadcast(512);

    // Folds lanes 0, 1, 2 of one register onto lane 3 (distances 384, 256, 128 bits); lane 3 is multiplied by 0.
    private static readonly Vector512<ulong> FoldLanes = Vector512.Create(
        FoldConstant(384 + 32), FoldConstant(384 - 32), FoldConstant(256 + 32), FoldConstant(256 - 32),
        FoldConstant(128 + 32), FoldConstant(128 - 32), 0UL, 0UL);

    /// <summary>
    /// The CRC-32 of the bytes hashed before (<paramref name="crc"/>, 0 for none) followed by <paramref name="data"/>,
    /// which must hold at least <see cref="MinimumLength"/> bytes.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        Debug.Assert(IsSupported && data.Length >= MinimumLength);
        ref byte start = ref MemoryMarshal.GetReference(data);
        nuint length = (nuint)data.Length;
        nuint offset = 64;
        Vector512<ulong> x0 = Load(ref start, 0) ^ Vector512.CreateScalar((ulong)~crc);
        if (length >= StrideLength)
        {
            Vector512<ulong> x1 = Load(ref start, 64), x2 = Load(ref start, 128), x3 = Load(ref start, 192);
            for (offset = StrideLength; length - offset >= StrideLength; offset += StrideLength)
            {
                x0 = Fold(x0, Fold2048, Load(ref start, offset));
                x1 = Fold(x1, Fold2048, Load(ref start, offset + 64));
                x2 = Fold(x2, Fold2048, Load(ref start, offset + 128));
                x3 = Fold(x3, Fold2048, Load(ref start, offset + 192));
            }
            x0 = Fold(x0, Fold1536, Fold(x1, Fold1024, Fold(x2, Fold512, x3)));
        }
        for (; length - offset >= 64; offset += 64)
        {
            x0 = Fold(x0, Fold512, Load(ref start, offset));
        }
        return Finish(FoldToLane(x0), data[(int)offset..]);
    }

    /// <summary>x·x^D ^ next for every lane, D being the distance <paramref name="constant"/> was made for.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Fold(Vector512<ulong> x, Vector512<ulong> constant, Vector512<ulong> next) =>
        Avx512F.TernaryLogic(Pclmulqdq.V512.CarrylessMultiply(x, constant, 0x00), Pclmulqdq.V512.CarrylessMultiply(x, constant, 0x11), next, 0x96); // 0x96: a ^ b ^ c

    /// <summary>Folds the four 128-bit lanes of <paramref name="x"/> into one, in the position of the last.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> FoldToLane(Vector512<ulong> x)
    {
        Vector512<ulong> low = Pclmulqdq.V512.CarrylessMultiply(x, FoldLanes, 0x00);
        Vector512<ulong> high = Pclmulqdq.V512.CarrylessMultiply(x, FoldLanes, 0x11);
        Vector256<ulong> sum = (low ^ high).GetLower() ^ (low ^ high).GetUpper();
        return sum.GetLower() ^ sum.GetUpper() ^ x.GetUpper().GetUpper();
    }

    /// <summary>Hashes the folded lane (standing for every byte before <paramref name="tail"/>) and the tail.</summary>
    private static uint Finish(Vector128<ulong> lane, ReadOnlySpan<byte> tail)
    {
        Debug.Assert(tail.Length < 64);
        Span<byte> last = stackalloc byte[16 + 64];
        // The lane stands for the input hashed from a zero register; Crc32 starts from 0xFFFFFFFF, which XOR-ing it
        // into the first 4 bytes cancels.
        (lane ^ Vector128.CreateScalar(0xFFFF_FFFFUL)).AsByte().CopyTo(last);
        tail.CopyTo(last[16..]);
        return Crc32.HashToUInt32(last[..(16 + tail.Length)]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Load(ref byte start, nuint offset) => Vector512.LoadUnsafe(ref start, offset).AsUInt64();

    private static Vector512<ulong> Broadcast(int distance)
    {
        ulong low = FoldConstant(distance + 32), high = FoldConstant(distance - 32);
        return Vector512.Create(low, high, low, high, low, high, low, high);
    }

    /// <summary>x^<paramref name="exponent"/> mod P (P = 0x104C11DB7), bit-reflected, shifted left one bit.</summary>
    internal static ulong FoldConstant(int exponent)
    {
        ulong remainder = 1;
        for (int i = 0; i < exponent; i++)
        {
            remainder <<= 1;
            if ((remainder & 0x1_0000_0000UL) != 0)
            {
                remainder ^= 0x1_04C1_1DB7UL;
            }
        }
        return (ulong)ReverseBits((uint)remainder) << 1;
    }

    private static uint ReverseBits(uint value)
    {
        uint reversed = 0;
        for (int i = 0; i < 32; i++, value >>= 1)
        {
            reversed = (reversed << 1) | (value & 1);
        }
        return reversed;
    }
}
