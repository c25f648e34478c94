using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;

namespace NPipes.Bench;

/// <summary>
/// Measures NPipes next to the raw .NET pipe stream doing the same work, client here and server in a separate process
/// (this program re-launched). Each figure prints one line:
/// <c>FIGURE npipes=V raw=V ratio=npipes/raw unit=U runs=N ...</c>, values being medians of the runs.
/// </summary>
public static partial class BenchRunner
{
    /// <summary>The first argument that makes this program (or a host routing to <see cref="RunPeerAsync"/>) a peer.</summary>
    public const string PeerArgument = "--bench-peer";

    /// <summary>Every figure (those added by <see cref="AddFigure"/> run after <c>crc32_1MiB</c>).</summary>
    public static IReadOnlyList<string> Figures => [.. BuiltInFigures, .. s_addedFigures.Select(f => f.Name)];

    private static readonly List<(string Name, Func<IFigureHost, Task> Run)> s_addedFigures = [];

    /// <summary>
    /// Adds a figure run after <c>crc32_1MiB</c> (in the order added) by a project of its own, which must also add its
    /// peer roles (<see cref="PeerRoles.Add"/>) in the peer process: the program calls both before it runs.
    /// </summary>
    internal static void AddFigure(string name, Func<IFigureHost, Task> run)
    {
        if (!s_addedFigures.Any(f => f.Name == name))
        {
            s_addedFigures.Add((name, run));
        }
    }

    private static readonly string[] BuiltInFigures =
    [
        "pingpong_16B_async", "pingpong_16B_sync",
        "oneway_64B", "oneway_1KiB", "oneway_64KiB", "oneway_1MiB", "oneway_64KiB_nocrc", "oneway_1MiB_nocrc",
        "clients_32_pingpong", "alloc_per_msg_send", "alloc_per_msg_receive", "crc32_64KiB", "crc32_1MiB",
        "listener_pingpong_16B", "listener_oneway_64B", "rpc_pingpong",
        "shm_1MiB_crc", "shm_16MiB_crc", // SharedMemoryFigures.cs
    ];

    internal const int PingSize = 16;
    private const int Clients = 32;
    private const int AllocMessageSize = 64;

    /// <summary>Runs the peer side: call this when a program started by the runner gets <see cref="PeerArgument"/> (pass the arguments after it).</summary>
    public static Task<int> RunPeerAsync(string[] args) => PeerRoles.RunAsync(args);

    /// <summary>Runs the benchmark and writes one line per figure to <paramref name="output"/>. Returns 0, or 1 if a figure failed.</summary>
    public static async Task<int> RunAsync(BenchOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var runner = new Runner(options, output, cancellationToken);
        return await runner.RunAllAsync();
    }

    private sealed partial class Runner(BenchOptions options, TextWriter output, CancellationToken ct) : IFigureHost
    {
        private readonly Dictionary<string, double> _singleClient = [];

        public BenchOptions Options => options;

        public CancellationToken Cancellation => ct;
        private int _failures;

        private bool Wanted(string figure) => options.Only.Count == 0 || options.Only.Contains(figure);

        internal static string NewName(string tag) => $"npb_{tag}_{Environment.ProcessId}_{Guid.NewGuid().ToString("N")[..6]}";

        public async Task<int> RunAllAsync()
        {
            output.WriteLine($"# NPipes.Bench mode={(options.IsQuick ? "quick" : "full")} runs={options.EffectiveRuns} cores={Environment.ProcessorCount} os={System.Runtime.InteropServices.RuntimeInformation.OSDescription.Replace(' ', '_')} runtime={Environment.Version}");
            await Figure("pingpong_16B_async", () => PingPongAsync(sync: false));
            await Figure("pingpong_16B_sync", () => PingPongAsync(sync: true));
            (string Name, int Size, bool Crc)[] oneway =
            [
                ("oneway_64B", 64, true), ("oneway_1KiB", 1024, true), ("oneway_64KiB", 64 * 1024, true), ("oneway_1MiB", 1024 * 1024, true),
                ("oneway_64KiB_nocrc", 64 * 1024, false), ("oneway_1MiB_nocrc", 1024 * 1024, false),
            ];
            foreach ((string name, int size, bool crc) in oneway)
            {
                await Figure(name, () => OneWayAsync(name, size, crc));
            }
            await Figure("clients_32_pingpong", ClientsAsync);
            if (Wanted("alloc_per_msg_send") || Wanted("alloc_per_msg_receive"))
            {
                await Guard("alloc_per_msg", AllocAsync);
            }
            await Figure("crc32_64KiB", () => CrcAsync("crc32_64KiB", 64 * 1024));
            await Figure("crc32_1MiB", () => CrcAsync("crc32_1MiB", 1024 * 1024));
            foreach ((string name, Func<IFigureHost, Task> run) in s_addedFigures)
            {
                await Figure(name, () => run(this)); // the gRPC baseline (bench/NPipes.Bench.Grpc)
            }
            // A MeterListener on the meter "NPipes" vs none, in-process (ListenerFigures.cs): npipes= with, raw= without.
            await Figure("listener_pingpong_16B", async () => PrintPair("listener_pingpong_16B", await ListenerFigures.PingPongAsync(options, ct), "roundtrips/s"));
            await Figure("listener_oneway_64B", async () => PrintPair("listener_oneway_64B", await ListenerFigures.OneWayAsync(options, ct), "msgs/s"));
            await Figure("rpc_pingpong", RpcPingPongAsync);
            await SharedMemoryFiguresAsync();
            return _failures == 0 ? 0 : 1;
        }

        private void PrintPair(string figure, ListenerFigures.Pair pair, string unit) =>
            Print(figure, pair.With, pair.Without, unit,
                $" base=no_listener npipes_cpu_us_per_op={Median(pair.CpuWith):F3} raw_cpu_us_per_op={Median(pair.CpuWithout):F3} cpu_ratio={Median(pair.CpuWith) / Median(pair.CpuWithout):F3}");

        private async Task Figure(string name, Func<Task> run)
        {
            if (Wanted(name))
            {
                await Guard(name, run);
            }
        }

        private async Task Guard(string name, Func<Task> run)
        {
            try
            {
                await run();
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                _failures++;
                output.WriteLine($"{name} error=\"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}\"");
            }
            output.Flush();
        }

        private void Print(string figure, List<double> npipes, List<double>? raw, string unit, string extra = "")
        {
            double n = Median(npipes);
            string line = $"{figure} npipes={PeerRoles.Format(n)}";
            if (raw is not null)
            {
                double r = Median(raw);
                line += $" raw={PeerRoles.Format(r)} ratio={(n / r).ToString("F2", CultureInfo.InvariantCulture)}";
            }
            line += $" unit={unit} runs={npipes.Count} npipes_min={PeerRoles.Format(npipes.Min())} npipes_max={PeerRoles.Format(npipes.Max())}";
            if (raw is not null)
            {
                line += $" raw_min={PeerRoles.Format(raw.Min())} raw_max={PeerRoles.Format(raw.Max())}";
            }
            line += " npipes_runs=" + string.Join(',', npipes.Select(PeerRoles.Format));
            if (raw is not null)
            {
                line += " raw_runs=" + string.Join(',', raw.Select(PeerRoles.Format));
            }
            output.WriteLine(line + extra);
            output.Flush();
        }

        internal static double Median(List<double> values)
        {
            var sorted = values.Order().ToArray();
            int mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }

        // ---- ping-pong ----

        private async Task PingPongAsync(bool sync)
        {
            string rawName = NewName("ppr"), npName = NewName("ppn");
            string mode = sync ? "sync" : "async";
            await using Peer rawPeer = await Peer.StartAsync(options, ct, "pp-raw-" + mode, rawName);
            await using Peer npPeer = await Peer.StartAsync(options, ct, "pp-np-" + mode, npName, "crc");
            await using var raw = new NamedPipeClientStream(".", rawName, PipeDirection.InOut, sync ? PipeOptions.None : PipeOptions.Asynchronous);
            await raw.ConnectAsync(30_000, ct);
            await using PipeConnection np = await PipeConnection.ConnectAsync(npName, PeerRoles.Options(crc: true), ct);
            var rawClient = new RawPinger(raw);
            var npClient = new NPipesPinger(np);
            Func<double, Task<double>> rawRun = sync ? s => Task.Run(() => rawClient.RunSync(s)) : rawClient.RunAsync;
            Func<double, Task<double>> npRun = sync ? s => Task.Run(() => npClient.RunSync(s)) : npClient.RunAsync;
            // Warm up both (JIT, tiering) before measuring.
            List<double> npRates = await CompareAsync($"pingpong_16B_{mode}", new Side(npRun, npPeer), new Side(rawRun, rawPeer),
                "roundtrips/s", Math.Max(1.0, options.Seconds));
            if (!sync)
            {
                _singleClient["async"] = Median(npRates);
            }
        }

        private sealed class RawPinger(NamedPipeClientStream stream)
        {
            private readonly byte[] _ping = new byte[PingSize];
            private readonly byte[] _pong = new byte[PingSize];
            private uint _sequence;

            public async Task<double> RunAsync(double seconds)
            {
                long n = 0;
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    for (int i = 0; i < 32; i++, n++)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(_ping, ++_sequence);
                        await stream.WriteAsync(_ping);
                        await stream.ReadExactlyAsync(_pong);
                        Check(_pong, _sequence);
                    }
                }
                return n / clock.Elapsed.TotalSeconds;
            }

            public double RunSync(double seconds)
            {
                long n = 0;
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    for (int i = 0; i < 32; i++, n++)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(_ping, ++_sequence);
                        stream.Write(_ping);
                        stream.ReadExactly(_pong);
                        Check(_pong, _sequence);
                    }
                }
                return n / clock.Elapsed.TotalSeconds;
            }
        }

        private sealed class NPipesPinger(PipeConnection connection)
        {
            private readonly byte[] _ping = new byte[PingSize];
            private uint _sequence;

            public async Task<double> RunAsync(double seconds)
            {
                long n = 0;
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    for (int i = 0; i < 32; i++, n++)
                    {
                        await OnceAsync();
                    }
                }
                return n / clock.Elapsed.TotalSeconds;
            }

            public async Task<long> CountUntilAsync(long deadline)
            {
                long n = 0;
                while (Stopwatch.GetTimestamp() < deadline)
                {
                    for (int i = 0; i < 8; i++, n++)
                    {
                        await OnceAsync();
                    }
                }
                return n;
            }

            private async ValueTask OnceAsync()
            {
                BinaryPrimitives.WriteUInt32LittleEndian(_ping, ++_sequence);
                using PipeMessage reply = await connection.RequestAsync(_ping);
                Check(reply.Payload.Span, _sequence);
            }

            public double RunSync(double seconds)
            {
                long n = 0;
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    for (int i = 0; i < 32; i++, n++)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(_ping, ++_sequence);
                        using PipeMessage reply = connection.Request(_ping);
                        Check(reply.Payload.Span, _sequence);
                    }
                }
                return n / clock.Elapsed.TotalSeconds;
            }
        }

        private static void Check(ReadOnlySpan<byte> reply, uint sequence)
        {
            if (reply.Length != PingSize || BinaryPrimitives.ReadUInt32LittleEndian(reply) != sequence)
            {
                throw new InvalidDataException($"ping {sequence}: wrong reply ({reply.Length} bytes)");
            }
        }

        // ---- clients ----

        private async Task ClientsAsync()
        {
            string name = NewName("cli");
            await using Peer peer = await Peer.StartAsync(options, ct, "pp-np-async", name, "crc");
            var connections = new PipeConnection[Clients + 1];
            try
            {
                for (int i = 0; i < connections.Length; i++)
                {
                    connections[i] = await PipeConnection.ConnectAsync(name, PeerRoles.Options(crc: true), ct);
                }
                var single = new NPipesPinger(connections[0]);
                NPipesPinger[] many = connections.Skip(1).Select(c => new NPipesPinger(c)).ToArray();
                await CompareAsync("clients_32_pingpong", new Side(s => RunManyAsync(many, s), peer), new Side(single.RunAsync, peer),
                    "roundtrips/s", options.Seconds / 2, " base=npipes_1_client");
            }
            finally
            {
                foreach (PipeConnection? c in connections)
                {
                    if (c is not null)
                    {
                        await c.DisposeAsync();
                    }
                }
            }
        }

        private static async Task<double> RunManyAsync(NPipesPinger[] clients, double seconds)
        {
            long start = Stopwatch.GetTimestamp();
            long deadline = start + (long)(seconds * Stopwatch.Frequency);
            long[] counts = await Task.WhenAll(clients.Select(c => Task.Run(() => c.CountUntilAsync(deadline))));
            return counts.Sum() / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        // ---- one-way ----

        private async Task OneWayAsync(string figure, int size, bool crc)
        {
            string rawName = NewName("owr"), npName = NewName("own");
            await using Peer rawPeer = await Peer.StartAsync(options, ct, "ow-raw", rawName);
            await using Peer npPeer = await Peer.StartAsync(options, ct, "ow-np", npName, crc ? "crc" : "nocrc");
            await using var raw = new NamedPipeClientStream(".", rawName, PipeDirection.InOut, PipeOptions.Asynchronous);
            await raw.ConnectAsync(30_000, ct);
            await using PipeConnection np = await PipeConnection.ConnectAsync(npName, PeerRoles.Options(crc), ct);
            var rawSender = new RawSender(raw, size);
            var npSender = new NPipesSender(np, size);
            // Warm-up (JIT tiering reaches the CRC and copy loops), which also calibrates each side's batch to last about options.Seconds.
            long rawCount = Calibrate(await WarmUpAsync(async n => (await rawSender.RunAsync(n)).Rate, size));
            long npCount = Calibrate(await WarmUpAsync(async n => (await npSender.RunAsync(n)).Rate, size));
            List<double> rawRates = [], npRates = [];
            CpuPerOp rawCpu = new(), npCpu = new();
            for (int i = 0; i < options.EffectiveRuns; i++)
            {
                CpuSample before = CpuSample.Take(rawPeer);
                rawRates.Add((await rawSender.RunAsync(rawCount)).Rate);
                rawCpu.Add(before, CpuSample.Take(rawPeer), rawCount);
                before = CpuSample.Take(npPeer);
                npRates.Add((await npSender.RunAsync(npCount)).Rate);
                npCpu.Add(before, CpuSample.Take(npPeer), npCount);
                // Keep each batch near the run length as the rates settle.
                rawCount = Calibrate(Median(rawRates));
                npCount = Calibrate(Median(npRates));
            }
            double mb = size / 1e6;
            Print(figure, npRates, rawRates, "msgs/s",
                $" npipes_MBps={PeerRoles.Format(Median(npRates) * mb)} raw_MBps={PeerRoles.Format(Median(rawRates) * mb)} npipes_msgs_per_run={npCount} raw_msgs_per_run={rawCount}" + CpuColumns(npCpu, rawCpu));
        }

        /// <summary>Runs batches for about options.Seconds (at least 3 batches); returns the last batch's rate.</summary>
        private async Task<double> WarmUpAsync(Func<long, Task<double>> batch, int size)
        {
            long count = Math.Clamp((8L << 20) / size, 16, 50_000);
            var clock = Stopwatch.StartNew();
            double rate = 0;
            for (int i = 0; i < 3 || clock.Elapsed.TotalSeconds < Math.Max(1.0, 2 * options.Seconds); i++)
            {
                rate = await batch(count);
                count = Math.Max(count, (long)(rate * options.Seconds / 4));
            }
            return rate;
        }

        private long Calibrate(double rate) => (long)Math.Clamp(rate * options.Seconds, 64, 50_000_000);

        private sealed class RawSender(NamedPipeClientStream stream, int size)
        {
            private readonly byte[] _message = Payload(size);
            private readonly byte[] _head = new byte[16];

            public async Task<(double Rate, long Allocated)> RunAsync(long count)
            {
                BinaryPrimitives.WriteInt64LittleEndian(_head, count);
                BinaryPrimitives.WriteInt64LittleEndian(_head.AsSpan(8), size);
                await stream.WriteAsync(_head);
                await stream.FlushAsync();
                var clock = Stopwatch.StartNew();
                for (long i = 0; i < count; i++)
                {
                    if (size >= 4)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(_message, (uint)i);
                    }
                    await stream.WriteAsync(_message);
                }
                await stream.ReadExactlyAsync(_head.AsMemory(0, 8));
                double seconds = clock.Elapsed.TotalSeconds;
                long received = BinaryPrimitives.ReadInt64LittleEndian(_head);
                if (received != count * size)
                {
                    throw new InvalidDataException($"raw: the peer received {received} bytes of {count * size}");
                }
                return (count / seconds, 0);
            }
        }

        private sealed class NPipesSender(PipeConnection connection, int size)
        {
            private readonly byte[] _message = Payload(size);
            private readonly byte[] _head = new byte[16];

            /// <summary>Sends one batch; returns messages/s (first send to the peer's acknowledgement) and bytes allocated here and in the peer.</summary>
            public async Task<(double Rate, long Allocated, long PeerAllocated)> RunAsync(long count)
            {
                BinaryPrimitives.WriteInt64LittleEndian(_head, count);
                BinaryPrimitives.WriteInt64LittleEndian(_head.AsSpan(8), size);
                await connection.SendAsync(_head);
                await BenchSink.FlushAsync(connection);
                long allocated = GC.GetTotalAllocatedBytes(precise: true);
                var clock = Stopwatch.StartNew();
                for (long i = 0; i < count; i++)
                {
                    if (size >= 4)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(_message, (uint)i);
                    }
                    await connection.SendAsync(_message);
                }
                await BenchSink.FlushAsync(connection);
                allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                using PipeMessage ack = await connection.ReceiveAsync() ?? throw new EndOfStreamException("npipes: the peer closed before acknowledging");
                double seconds = clock.Elapsed.TotalSeconds;
                long received = BinaryPrimitives.ReadInt64LittleEndian(ack.Payload.Span);
                if (received != count)
                {
                    throw new InvalidDataException($"npipes: the peer received {received} messages of {count}");
                }
                return (count / seconds, allocated, BinaryPrimitives.ReadInt64LittleEndian(ack.Payload.Span[8..]));
            }
        }

        private static byte[] Payload(int size)
        {
            byte[] payload = new byte[size];
            new Random(size).NextBytes(payload);
            return payload;
        }

        // ---- allocations ----

        private async Task AllocAsync()
        {
            string name = NewName("alc");
            await using Peer peer = await Peer.StartAsync(options, ct, "ow-np", name, "crc");
            await using PipeConnection np = await PipeConnection.ConnectAsync(name, PeerRoles.Options(crc: true), ct);
            var sender = new NPipesSender(np, AllocMessageSize);
            long count = options.IsQuick ? 100_000 : 1_000_000;
            await sender.RunAsync(count); // warm up: JIT, tiering, pools
            List<double> send = [], receive = [];
            for (int i = 0; i < options.EffectiveRuns; i++)
            {
                (_, long allocated, long peerAllocated) = await sender.RunAsync(count);
                send.Add((double)allocated / count);
                receive.Add((double)peerAllocated / count);
            }
            string extra = $" payload={AllocMessageSize}B msgs_per_run={count}";
            if (Wanted("alloc_per_msg_send"))
            {
                Print("alloc_per_msg_send", send, null, "bytes/msg", extra);
            }
            if (Wanted("alloc_per_msg_receive"))
            {
                Print("alloc_per_msg_receive", receive, null, "bytes/msg", extra);
            }
        }
    }
}
