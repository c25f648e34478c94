using System.Diagnostics;
using System.IO.Pipes;

namespace NPipes.Bench;

public static partial class BenchRunner
{
    // Large messages through shared memory (docs/shared-memory.md), .NET to .NET with CRC on, next to the raw .NET pipe
    // moving the same payloads in the same run. Both pairs run in this process (sender and receiver each on their own
    // task), so the CPU per message counts both ends of either.
    private sealed partial class Runner
    {
        private const long SharedMemoryLimit = 32 * 1024 * 1024;

        private async Task SharedMemoryFiguresAsync()
        {
            await Figure("shm_1MiB_crc", () => SharedMemoryAsync("shm_1MiB_crc", 1024 * 1024));
            await Figure("shm_16MiB_crc", () => SharedMemoryAsync("shm_16MiB_crc", 16 * 1024 * 1024));
            await Figure("shm_parts", () =>
            {
                SharedMemoryParts(1024 * 1024);
                SharedMemoryParts(16 * 1024 * 1024);
                return Task.CompletedTask;
            });
        }

        /// <summary>
        /// Where a ring message's time goes (docs/shared-memory.md §8), one thread, warm pages, microseconds per message
        /// (median of the runs): the sender's write into the slot and its CRC, the receiver's copy out and CRC, separately
        /// and fused (CRC over each 64 KiB chunk just copied). Linux only (a real ring mapping).
        /// </summary>
        private void SharedMemoryParts(int size)
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }
            byte[] payload = Payload(size);
            byte[] copy = new byte[size];
            using var ring = NPipes.Transport.MemfdRing.Create(64L * 1024 * 1024);
            Memory<byte> slot = ring.Memory[..size];
            payload.CopyTo(slot);
            int count = Math.Max(8, 256 * 1024 * 1024 / size);
            double Time(Action step)
            {
                for (var warm = Stopwatch.StartNew(); warm.ElapsedMilliseconds < 300;)
                {
                    step(); // past tier-0 JIT code (tier-1 comes 100 ms after the 30th call) before timing
                }
                List<double> runs = [];
                for (int r = 0; r < options.EffectiveRuns; r++)
                {
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < count; i++)
                    {
                        step();
                    }
                    runs.Add(clock.Elapsed.TotalMicroseconds / count);
                }
                return Median(runs);
            }
            double write = Time(() => payload.CopyTo(slot.Span));
            double crc = Time(() => FrameCrc.Compute(slot.Span));
            double copyOut = Time(() => slot.Span.CopyTo(copy));
            double crcCopy = Time(() => FrameCrc.Compute(copy));
            double fused = Time(() => FusedCopyAndCompute(slot.Span, copy));
            double onePass = Time(() => FrameCrc.CopyAndCompute(slot.Span, copy, crc: true));
            Console.WriteLine($"shm_parts_{size / 1024}KiB unit=us_per_msg sender_write={write:F1} sender_crc={crc:F1} receiver_copy={copyOut:F1} receiver_crc_of_copy={crcCopy:F1} receiver_copy_then_crc={copyOut + crcCopy:F1} receiver_fused_copy_crc={fused:F1} receiver_copy_and_compute={onePass:F1} crc_path={FrameCrc.PathName}");
        }

        /// <summary>
        /// npipes= messages/s through shared memory: the sender writes each payload in place (CreateMessage), the receiver
        /// reads it in place (the mapping) after the library's CRC check. raw= the same payloads written to and read from a
        /// raw .NET pipe stream (no framing, no CRC).
        /// </summary>
        private async Task SharedMemoryAsync(string figure, int size)
        {
            byte[] payload = Payload(size);
            NPipesOptions npOptions = new()
            {
                Frame = FrameOptions.Default with { Crc = true, MaxPayloadLength = SharedMemoryLimit },
                SharedMemory = SharedMemoryOptions.Default,
                Timeout = TimeSpan.FromSeconds(30),
            };
            string rawName = NewName("shr"), npName = NewName("shn");
            await using var rawServer = new NamedPipeServerStream(rawName, PipeDirection.InOut, 1, PipeTransmissionMode.Byte, PipeOptions.Asynchronous);
            await using var rawClient = new NamedPipeClientStream(".", rawName, PipeDirection.InOut, PipeOptions.Asynchronous);
            await Task.WhenAll(rawServer.WaitForConnectionAsync(ct), rawClient.ConnectAsync(30_000, ct));
            await using PipeServer server = PipeServer.Listen(npName, new PipeServerOptions { Connection = npOptions });
            ValueTask<PipeConnection> accepting = server.AcceptAsync(ct);
            await using PipeConnection sender = await PipeConnection.ConnectAsync(npName, npOptions, ct);
            await using PipeConnection receiver = await accepting;

            byte[] sink = new byte[size];
            async Task<double> RawBatch(long count)
            {
                Task reading = Task.Run(async () =>
                {
                    for (long i = 0; i < count; i++)
                    {
                        await rawServer.ReadExactlyAsync(sink, ct);
                    }
                }, ct);
                for (long i = 0; i < count; i++)
                {
                    await rawClient.WriteAsync(payload, ct);
                }
                await reading;
                return sink[0];
            }
            async Task<double> SharedBatch(long count)
            {
                Task<long> reading = Task.Run(async () =>
                {
                    long sum = 0;
                    for (long i = 0; i < count; i++)
                    {
                        using PipeMessage message = await receiver.ReceiveAsync(ct) ?? throw new EndOfStreamException("npipes: the sender closed");
                        sum += message.Payload.Span[^1];
                    }
                    return sum;
                }, ct);
                for (long i = 0; i < count; i++)
                {
                    using OutgoingMessage message = sender.CreateMessage(size);
                    payload.CopyTo(message.Span);
                    await message.SendAsync(ct);
                }
                return await reading;
            }

            long rawCount = Calibrate(await WarmUpAsync(n => TimedAsync(RawBatch, n), size));
            long npCount = Calibrate(await WarmUpAsync(n => TimedAsync(SharedBatch, n), size));
            List<double> rawRates = [], npRates = [], rawCpu = [], npCpu = [];
            for (int i = 0; i < options.EffectiveRuns; i++)
            {
                (double rate, double cpu) = await MeasuredAsync(RawBatch, rawCount);
                rawRates.Add(rate);
                rawCpu.Add(cpu);
                (rate, cpu) = await MeasuredAsync(SharedBatch, npCount);
                npRates.Add(rate);
                npCpu.Add(cpu);
                rawCount = Calibrate(Median(rawRates));
                npCount = Calibrate(Median(npRates));
            }
            double mb = size / 1e6;
            Print(figure, npRates, rawRates, "msgs/s",
                $" npipes_MBps={PeerRoles.Format(Median(npRates) * mb)} raw_MBps={PeerRoles.Format(Median(rawRates) * mb)}" +
                $" npipes_cpu_us_per_op={Median(npCpu):F1} raw_cpu_us_per_op={Median(rawCpu):F1} base=raw_pipe_in_process npipes_msgs_per_run={npCount} raw_msgs_per_run={rawCount}");
        }

        /// <summary>The alternative to FrameCrc.CopyAndCompute that was measured: each 64 KiB chunk hashed from cache just after it is copied.</summary>
        private static uint FusedCopyAndCompute(ReadOnlySpan<byte> source, Span<byte> destination)
        {
            const int Chunk = 64 * 1024;
            uint value = 0;
            for (int offset = 0; offset < source.Length; offset += Chunk)
            {
                int n = Math.Min(Chunk, source.Length - offset);
                source.Slice(offset, n).CopyTo(destination.Slice(offset, n));
                value = FrameCrc.Append(value, destination.Slice(offset, n));
            }
            return value;
        }

        private static async Task<double> TimedAsync(Func<long, Task<double>> batch, long count) => (await MeasuredAsync(batch, count)).Rate;

        /// <summary>Runs one batch: messages/s, and this process's CPU time per message in microseconds.</summary>
        private static async Task<(double Rate, double CpuMicroseconds)> MeasuredAsync(Func<long, Task<double>> batch, long count)
        {
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            await batch(count);
            double seconds = clock.Elapsed.TotalSeconds;
            return (count / seconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count);
        }
    }
}
