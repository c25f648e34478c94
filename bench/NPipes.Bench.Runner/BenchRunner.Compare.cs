using System.Diagnostics;
using System.Globalization;

namespace NPipes.Bench;

/// <summary>
/// Two sides of a figure measured in alternating windows, each window with the CPU time it cost this process (the
/// client) and the side's peer process (the server): every rate figure prints
/// <c>npipes_cpu_us=CLIENT/SERVER raw_cpu_us=CLIENT/SERVER cpu_ratio=NPIPES/RAW</c>, medians of the per-window CPU
/// microseconds per operation, the ratio of the two sides' medians of client + server.
/// </summary>
public static partial class BenchRunner
{
    /// <summary>One side of a figure: runs a window of about the given seconds and returns its rate; <see cref="Peer"/> serves it (null: none).</summary>
    internal sealed record Side(Func<double, Task<double>> Run, Peer? Peer);

    /// <summary>CPU time of this process and of a peer process, at one moment.</summary>
    internal readonly record struct CpuSample(TimeSpan Self, TimeSpan Peer)
    {
        /// <summary>Now: this process from getrusage (microseconds), the peer from /proc (clock ticks, 10 ms).</summary>
        public static CpuSample Take(Peer? peer) => new(Environment.CpuUsage.TotalTime, peer?.CpuTime() ?? TimeSpan.Zero);
    }

    /// <summary>Per-window CPU microseconds per operation of the client and of the server.</summary>
    internal sealed class CpuPerOp
    {
        private readonly List<double> _client = [], _server = [], _total = [];

        public void Add(CpuSample before, CpuSample after, double operations)
        {
            if (operations <= 0)
            {
                return;
            }
            double client = (after.Self - before.Self).TotalMicroseconds / operations;
            double server = (after.Peer - before.Peer).TotalMicroseconds / operations;
            _client.Add(client);
            _server.Add(server);
            _total.Add(client + server);
        }

        public double Total => _total.Count == 0 ? double.NaN : Runner.Median(_total);

        public override string ToString() => _client.Count == 0 ? "n/a" : $"{Us(Runner.Median(_client))}/{Us(Runner.Median(_server))}";

        private static string Us(double value) => value.ToString(value >= 100 ? "F0" : "F2", CultureInfo.InvariantCulture);
    }

    /// <summary>The CPU columns of a figure line (leading space).</summary>
    internal static string CpuColumns(CpuPerOp npipes, CpuPerOp raw) =>
        $" npipes_cpu_us={npipes} raw_cpu_us={raw} cpu_ratio={(npipes.Total / raw.Total).ToString("F2", CultureInfo.InvariantCulture)}";

    private sealed partial class Runner
    {
        /// <summary>
        /// Warms both sides up (<paramref name="warmUpSeconds"/> each, not counted), then runs them in alternating
        /// windows of options.Seconds, raw first, and prints the figure with its CPU columns.
        /// </summary>
        public async Task<List<double>> CompareAsync(string figure, Side npipes, Side raw, string unit, double warmUpSeconds, string extra = "")
        {
            double rawWarm = await WarmUpAsync(raw, warmUpSeconds);
            double npWarm = await WarmUpAsync(npipes, warmUpSeconds);
            extra += $" warmup_s={rawWarm.ToString("F1", CultureInfo.InvariantCulture)}/{npWarm.ToString("F1", CultureInfo.InvariantCulture)}";
            List<double> rawRates = [], npRates = [];
            CpuPerOp rawCpu = new(), npCpu = new();
            for (int i = 0; i < options.EffectiveRuns; i++)
            {
                rawRates.Add(await WindowAsync(raw, rawCpu));
                npRates.Add(await WindowAsync(npipes, npCpu));
            }
            Print(figure, npRates, rawRates, unit, extra + CpuColumns(npCpu, rawCpu));
            return npRates;
        }

        /// <summary>
        /// Runs <paramref name="side"/> for at least <paramref name="seconds"/>, then on in windows until one passes in which
        /// this process and the side's peer compiled almost nothing (at most <see cref="QuietJitMethods"/> methods), or <see cref="MaxWarmUpSeconds"/>
        /// have passed; returns the seconds it took. Why: with tiered PGO, the calls' code is compiled again twice (instrumented, then
        /// optimized) and on two loaded cores that backlog took the first measured windows down 20-40× (bench/README.md).
        /// </summary>
        private async Task<double> WarmUpAsync(Side side, double seconds)
        {
            long start = Stopwatch.GetTimestamp();
            await side.Run(seconds);
            while (Stopwatch.GetElapsedTime(start).TotalSeconds < MaxWarmUpSeconds)
            {
                long compiled = await CompiledMethodsAsync(side.Peer);
                await side.Run(Math.Max(0.25, options.Seconds / 2));
                if (await CompiledMethodsAsync(side.Peer) - compiled <= QuietJitMethods)
                {
                    break;
                }
            }
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        /// <summary>Methods compiled so far by this process and the peer together.</summary>
        private async Task<long> CompiledMethodsAsync(Peer? peer) =>
            System.Runtime.JitInfo.GetCompiledMethodCount() + (peer is null ? 0 : await peer.CompiledMethodsAsync(ct));

        /// <summary>A warm-up window that compiled at most this many methods here counts as quiet.</summary>
        private const int QuietJitMethods = 2;

        private double MaxWarmUpSeconds => options.IsQuick ? 8 : 15;

        private async Task<double> WindowAsync(Side side, CpuPerOp cpu)
        {
            CpuSample before = CpuSample.Take(side.Peer);
            long start = Stopwatch.GetTimestamp();
            double rate = await side.Run(options.Seconds);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            cpu.Add(before, CpuSample.Take(side.Peer), rate * seconds);
            return rate;
        }
    }
}

/// <summary>What a figure added by another project (<see cref="BenchRunner.AddFigure"/>, e.g. the gRPC baseline) gets from the runner.</summary>
internal interface IFigureHost
{
    /// <summary>The run's options.</summary>
    BenchOptions Options { get; }

    /// <summary>Cancels the run.</summary>
    CancellationToken Cancellation { get; }

    /// <summary>How long each side of an rpc figure warms up at least.</summary>
    double RpcWarmUpSeconds { get; }

    /// <summary>Warms both sides up, runs them in alternating windows and prints the figure with its CPU columns; returns npipes' rates.</summary>
    Task<List<double>> CompareAsync(string figure, BenchRunner.Side npipes, BenchRunner.Side raw, string unit, double warmUpSeconds, string extra = "");

    /// <summary>NPipes.JsonRpc's side of an rpc figure: a peer serving <c>ping</c> and a connected JsonRpc (dispose both, the JsonRpc first).</summary>
    Task<(BenchRunner.Side Side, StreamJsonRpc.JsonRpc Rpc, Peer Peer)> StartNPipesRpcAsync();
}
