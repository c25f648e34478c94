using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace NPipes.Bench;

/// <summary>
/// What an attached <see cref="MeterListener"/> costs: the same work measured with a listener on every instrument of the
/// meter "NPipes" and without one, in alternating windows of the same run. Client and server both run in this process,
/// so both ends' counting is inside the measurement. The listener does what an exporter's hot path does: it adds every
/// measurement to a running sum (and collects the observable instruments once per window).
/// </summary>
internal static class ListenerFigures
{
    /// <summary>Round trips/s of 16-byte requests (RequestAsync against ServeRequestsAsync): with a listener, without.</summary>
    public static async Task<Pair> PingPongAsync(BenchOptions options, CancellationToken ct)
    {
        string name = $"npb_lpp_{Environment.ProcessId}_{Guid.NewGuid().ToString("N")[..6]}";
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = PeerRoles.Options(crc: true), DrainTimeout = TimeSpan.Zero });
        Task serving = server.ServeRequestsAsync(static (request, _) => ValueTask.FromResult(request.Payload), ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, PeerRoles.Options(crc: true), ct);
        byte[] ping = new byte[BenchRunner.PingSize];
        async Task<double> Run(double seconds)
        {
            long n = 0;
            uint sequence = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                for (int i = 0; i < 32; i++, n++)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(ping, ++sequence);
                    using PipeMessage reply = await client.RequestAsync(ping, ct);
                    if (BinaryPrimitives.ReadUInt32LittleEndian(reply.Payload.Span) != sequence)
                    {
                        throw new InvalidDataException($"ping {sequence}: wrong reply");
                    }
                }
            }
            return n / clock.Elapsed.TotalSeconds;
        }
        return await AlternateAsync(options, Run);
    }

    /// <summary>Messages/s of 64-byte one-way sends on one connection, received and counted in this process: with a listener, without.</summary>
    public static async Task<Pair> OneWayAsync(BenchOptions options, CancellationToken ct)
    {
        string name = $"npb_low_{Environment.ProcessId}_{Guid.NewGuid().ToString("N")[..6]}";
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = PeerRoles.Options(crc: true), DrainTimeout = TimeSpan.Zero });
        Task<PipeConnection> accepted = server.AcceptAsync(ct).AsTask();
        await using PipeConnection sender = await PipeConnection.ConnectAsync(name, PeerRoles.Options(crc: true), ct);
        await using PipeConnection receiver = await accepted;
        byte[] message = new byte[64];
        var sink = new ArrayBufferWriter<byte>(64 * 1024);
        async Task<double> Run(double seconds)
        {
            long count = (long)(seconds * 500_000); // about a window's worth; the rate is what is compared
            var clock = Stopwatch.StartNew();
            Task<long> receiving = Task.Run(async () =>
            {
                for (long i = 0; i < count; i++)
                {
                    sink.ResetWrittenCount();
                    if (await receiver.ReceiveIntoAsync(sink, ct) != message.Length)
                    {
                        throw new InvalidDataException($"message {i}: wrong length or end of stream");
                    }
                }
                return count;
            }, ct);
            for (long i = 0; i < count; i++)
            {
                await sender.SendAsync(message, ct);
            }
            await sender.FlushAsync(ct);
            await receiving;
            return count / clock.Elapsed.TotalSeconds;
        }
        return await AlternateAsync(options, Run);
    }

    /// <summary>Rates with and without a listener, and the CPU time (this process, all threads) per operation in each window.</summary>
    public sealed record Pair(List<double> With, List<double> Without, List<double> CpuWith, List<double> CpuWithout);

    /// <summary>Warms up, then measures with and without a listener alternately, starting with a different one each run.</summary>
    private static async Task<Pair> AlternateAsync(BenchOptions options, Func<double, Task<double>> run)
    {
        await run(Math.Max(1.0, options.Seconds));
        using (new SummingListener())
        {
            await run(Math.Max(1.0, options.Seconds) / 2);
        }
        var pair = new Pair([], [], [], []);
        for (int i = 0; i < options.EffectiveRuns; i++)
        {
            for (int half = 0; half < 2; half++)
            {
                bool listen = (i + half) % 2 == 1;
                using SummingListener? listener = listen ? new SummingListener() : null;
                // CPU time per operation barely depends on what else runs on the machine, unlike the rate.
                TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
                long start = Stopwatch.GetTimestamp();
                double rate = await run(options.Seconds);
                double operations = rate * Stopwatch.GetElapsedTime(start).TotalSeconds;
                double cpuMicroseconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / operations;
                (listen ? pair.With : pair.Without).Add(rate);
                (listen ? pair.CpuWith : pair.CpuWithout).Add(cpuMicroseconds);
                if (listener is not null)
                {
                    listener.Collect();
                    if (listener.Measurements == 0)
                    {
                        throw new InvalidOperationException("the listener saw no measurement: the instruments were not enabled");
                    }
                }
            }
        }
        return pair;
    }

    /// <summary>Listens to every instrument of the meter "NPipes" and adds up what it is told, as an exporter's aggregation would.</summary>
    private sealed class SummingListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _sum;
        private double _seconds;
        private long _measurements;

        public SummingListener()
        {
            _listener.InstrumentPublished = static (instrument, listener) =>
            {
                if (instrument.Meter.Name == NPipesTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument, null);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
            {
                Interlocked.Add(ref _sum, value);
                Interlocked.Increment(ref _measurements);
            });
            _listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
            {
                lock (_listener)
                {
                    _seconds += value;
                }
                Interlocked.Increment(ref _measurements);
            });
            _listener.Start();
        }

        public long Measurements => Interlocked.Read(ref _measurements);

        public void Collect() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();
    }
}
