using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NPipes;

// Copying and hashing in one pass (docs/shared-memory.md §8: the receiver's copy out of the ring, and a payload written
// into a slot): each 64-byte block is loaded into a register once, stored from it and folded from it, so the CRC is
// of exactly the bytes written, whatever the source does meanwhile, and the data crosses the memory system once.
internal static partial class Crc32Avx512
{
    /// <summary>
    /// Copies <paramref name="source"/> (at least <see cref="MinimumLength"/> bytes) into <paramref name="destination"/>
    /// (as long or longer; the two must not overlap) and returns the CRC-32 of the bytes hashed before
    /// (<paramref name="crc"/>) followed by the bytes written.
    /// </summary>
    public static uint CopyAndAppend(uint crc, ReadOnlySpan<byte> source, Span<byte> destination)
    {
        Debug.Assert(IsSupported && source.Length >= MinimumLength && destination.Length >= source.Length && !source.Overlaps(destination));
        ref byte from = ref MemoryMarshal.GetReference(source);
        ref byte to = ref MemoryMarshal.GetReference(destination);
        nuint length = (nuint)source.Length;
        nuint offset = 64;
        Vector512<ulong> x0 = Move(ref from, ref to, 0) ^ Vector512.CreateScalar((ulong)~crc);
        if (length >= StrideLength)
        {
            Vector512<ulong> x1 = Move(ref from, ref to, 64), x2 = Move(ref from, ref to, 128), x3 = Move(ref from, ref to, 192);
            for (offset = StrideLength; length - offset >= StrideLength; offset += StrideLength)
            {
                x0 = Fold(x0, Fold2048, Move(ref from, ref to, offset));
                x1 = Fold(x1, Fold2048, Move(ref from, ref to, offset + 64));
                x2 = Fold(x2, Fold2048, Move(ref from, ref to, offset + 128));
                x3 = Fold(x3, Fold2048, Move(ref from, ref to, offset + 192));
            }
            x0 = Fold(x0, Fold1536, Fold(x1, Fold1024, Fold(x2, Fold512, x3)));
        }
        for (; length - offset >= 64; offset += 64)
        {
            x0 = Fold(x0, Fold512, Move(ref from, ref to, offset));
        }
        Span<byte> tail = destination[(int)offset..source.Length];
        source[(int)offset..].CopyTo(tail);
        return Finish(FoldToLane(x0), tail);
    }

    /// <summary>One 64-byte block: loaded once, stored, and returned for folding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Move(ref byte from, ref byte to, nuint offset)
    {
        Vector512<byte> block = Vector512.LoadUnsafe(ref from, offset);
        block.StoreUnsafe(ref to, offset);
        return block.AsUInt64();
    }
}
