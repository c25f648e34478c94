using System.Buffers.Binary;
using System.IO.Hashing;

namespace NPipes;

/// <summary>
/// The frame CRC-32 (IEEE 802.3, as zlib and <see cref="Crc32"/> compute it), one shot or a chunk at a time. Inputs of
/// <see cref="AcceleratedMinimum"/> bytes or more go to <c>Crc32Avx512</c> (net10.0 build) where the CPU has AVX-512 and
/// VPCLMULQDQ; everything else to <see cref="Crc32"/> (System.IO.Hashing), which is as fast on short inputs.
/// </summary>
internal static class FrameCrc
{
    /// <summary>
    /// The shortest input the 512-bit kernel takes. Below it System.IO.Hashing (128-bit folding, no set-up) is as fast
    /// or faster: the kernel's fixed cost (the final reduction of the folded value) is about 10 ns. Measured on this
    /// project's AMD EPYC, best of 300 batches: System.IO.Hashing 1.5x faster at 64 bytes, level at 160-224, the kernel
    /// 1.3x faster at 256, 1.9x at 512, 4x at 64 KiB.
    /// </summary>
    internal const int AcceleratedMinimum = 256;

    /// <summary>Whether long inputs take the 512-bit kernel on this machine.</summary>
#if NET
    internal static bool IsAccelerated => Crc32Avx512.IsSupported;
#else
    internal static bool IsAccelerated => false; // the kernel is net10.0-only (Vector512)
#endif

    /// <summary>Which implementation long inputs take here, for test and benchmark output.</summary>
    internal static string PathName => IsAccelerated ? "avx512-vpclmulqdq" : "system-io-hashing";

    // The portable path's incremental hasher (System.IO.Hashing has no way to start from a given CRC in one shot).
    [ThreadStatic]
    private static Crc32? t_hasher;

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>
    /// The CRC-32 of the bytes whose CRC-32 is <paramref name="crc"/> (0 for none) followed by <paramref name="data"/>:
    /// appending chunk by chunk gives the same value as hashing them all at once.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) =>
#if NET
        IsAccelerated && data.Length >= AcceleratedMinimum ? Crc32Avx512.Append(crc, data) :
#endif
        AppendPortable(crc, data);

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="destination"/> (they must not overlap) and, with
    /// <paramref name="crc"/>, returns the CRC-32 of what was written (so a source that changes meanwhile cannot make the
    /// two differ); else 0. With the 512-bit kernel, one pass: each 64-byte block is stored and hashed from the same
    /// register (<c>Crc32Avx512.CopyAndAppend</c>). Otherwise the copy is whole, then hashed from the destination:
    /// hashing each 64 KiB chunk from cache just after copying it measured slower (bench `--only shm_parts`).
    /// </summary>
    public static uint CopyAndCompute(ReadOnlySpan<byte> source, Span<byte> destination, bool crc)
    {
#if NET
        if (crc && IsAccelerated && source.Length >= AcceleratedMinimum)
        {
            return Crc32Avx512.CopyAndAppend(0, source, destination);
        }
#endif
        source.CopyTo(destination);
        return crc ? Compute(destination[..source.Length]) : 0;
    }

    /// <summary><see cref="Append"/> without the 512-bit kernel, whatever the CPU (the fallback, and its tests).</summary>
    internal static uint AppendPortable(uint crc, ReadOnlySpan<byte> data)
    {
        if (crc == 0)
        {
            // A CRC of 0 is the initial register (0xFFFFFFFF) after the final XOR: nothing to carry over.
            return Crc32.HashToUInt32(data);
        }
        if (data.Length < 4)
        {
            return AppendBitwise(crc, data);
        }
        // Starting from 0xFFFFFFFF with crc XOR-ed into the first 4 bytes is starting from register ~crc.
        Crc32 hasher = t_hasher ??= new Crc32();
        hasher.Reset();
        Span<byte> head = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(head, BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc);
        hasher.Append(head);
        hasher.Append(data[4..]);
        return hasher.GetCurrentHashAsUInt32();
    }

    /// <summary>One bit at a time, for the 1-3 byte chunks the head trick above cannot take.</summary>
    private static uint AppendBitwise(uint crc, ReadOnlySpan<byte> data)
    {
        uint register = ~crc;
        foreach (byte b in data)
        {
            register ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                register = (register >> 1) ^ (0xEDB8_8320u & (0u - (register & 1)));
            }
        }
        return ~register;
    }
}
