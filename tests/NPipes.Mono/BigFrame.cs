using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>
/// The large frame: 24 MiB, above the default 16 MiB limit (so both sides raise it), with CRC. Byte i is
/// (i + i / 65536) mod 256, as in big_peer.py: a 64 KiB block out of place or lost changes the bytes, not only the CRC.
/// </summary>
internal static class BigFrame
{
    public const int Size = 24 * 1024 * 1024;

    public static readonly NPipesOptions Options = new()
    {
        Timeout = TimeSpan.FromSeconds(30),
        Frame = new FrameOptions { Crc = true, MaxPayloadLength = 32 * 1024 * 1024 },
    };

    public static byte[] Payload(int size)
    {
        byte[] payload = new byte[size];
        for (int i = 0; i < size; i++)
        {
            payload[i] = unchecked((byte)(i + (i >> 16)));
        }
        return payload;
    }

    /// <summary>Where <paramref name="actual"/> first differs from the payload, or null when it is the payload.</summary>
    public static string? Difference(ReadOnlySpan<byte> actual, int size)
    {
        if (actual.Length != size)
        {
            return $"{actual.Length} bytes instead of {size}";
        }
        for (int i = 0; i < size; i++)
        {
            if (actual[i] != unchecked((byte)(i + (i >> 16))))
            {
                return $"byte {i} is {actual[i]}";
            }
        }
        return null;
    }
}
