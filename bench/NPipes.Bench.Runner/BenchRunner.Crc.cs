using System.Diagnostics;
using System.IO.Hashing;

namespace NPipes.Bench;

public static partial class BenchRunner
{
    private sealed partial class Runner
    {
        /// <summary>
        /// The frame CRC (<see cref="FrameCodec.ComputeCrc(ReadOnlySpan{byte})"/>, which takes the 512-bit kernel where the
        /// CPU has one) against System.IO.Hashing's <see cref="Crc32"/> on the same buffer, in this process, GB/s.
        /// Both must give the same value, or the figure fails.
        /// </summary>
        private Task CrcAsync(string figure, int size)
        {
            byte[] data = Payload(size);
            uint expected = Crc32.HashToUInt32(data);
            uint actual = FrameCodec.ComputeCrc(data);
            if (actual != expected)
            {
                throw new InvalidDataException($"the frame CRC is {actual:x8} but System.IO.Hashing gives {expected:x8}");
            }
            double seconds = options.Seconds / 2;
            // Warm-up: both loops reach their optimised (tier-1) code before measuring.
            Rate(() => FrameCodec.ComputeCrc(data), size, expected, Math.Max(0.5, seconds));
            Rate(() => Crc32.HashToUInt32(data), size, expected, Math.Max(0.5, seconds));
            List<double> npipes = [], raw = [];
            for (int i = 0; i < options.EffectiveRuns; i++)
            {
                raw.Add(Rate(() => Crc32.HashToUInt32(data), size, expected, seconds));
                npipes.Add(Rate(() => FrameCodec.ComputeCrc(data), size, expected, seconds));
            }
            Print(figure, npipes, raw, "GB/s", $" path={FrameCrc.PathName} raw_is=System.IO.Hashing.Crc32 bytes={size}");
            return Task.CompletedTask;
        }

        /// <summary>Hashes the buffer for about <paramref name="seconds"/>, checking every result; returns GB/s.</summary>
        private static double Rate(Func<uint> hash, int size, uint expected, double seconds)
        {
            int batch = Math.Max(1, (1 << 22) / size); // about 4 MB between clock reads
            long hashes = 0;
            var clock = Stopwatch.StartNew();
            do
            {
                for (int i = 0; i < batch; i++)
                {
                    if (hash() != expected)
                    {
                        throw new InvalidDataException($"a {size}-byte CRC changed between runs");
                    }
                }
                hashes += batch;
            }
            while (clock.Elapsed.TotalSeconds < seconds);
            return hashes * (double)size / clock.Elapsed.TotalSeconds / 1e9;
        }
    }
}
