using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Reflection;
using NPipes;
using NPipes.Tests.Hostile;

// The full-size reliability scenarios behind docs/reliability.md. Each prints what it did and its figures, and exits
// non-zero when a property failed. Usage: dotnet run -c Release --project tests/NPipes.Stress -- <scenario> [--option value]...
return await Stress.MainAsync(args);

internal static partial class Stress
{
    private static readonly NPipesOptions Crc = new()
    {
        Frame = FrameOptions.Default with { Crc = true, MaxPayloadLength = 1024 * 1024 },
        Timeout = TimeSpan.FromSeconds(30),
    };

    public static async Task<int> MainAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine("""
                scenarios:
                  fuzz          [--frames 1000000] [--seed 101] [--max 65536]   property-based decoder fuzzing (codec, split sequences, reader)
                  kill-clients  [--kills 100] [--healthy 8]                     SIGKILL a client process mid-frame, again and again, while others run
                  kill-server   [--restarts 10] [--clients 8] [--per-life 2000] SIGKILL and restart the server process under reconnecting PipeClients
                  churn         [--clients 10000] [--parallel 8]                connect/disconnect clients, then compare handles and heap with the baseline
                  load          [--clients 64] [--round-trips 10000] [--window 4] request/response under load, CRC on, counts on both sides
                  exhaust       [--limit 256] [--idle 2000] [--rounds 10]        a server under a low RLIMIT_NOFILE flooded with idle clients, recovering each round
                  all           every scenario above with its defaults
                """);
            return args.Length == 0 ? 2 : 0;
        }
        var o = new Args(args[1..]);
        switch (args[0])
        {
            case "fuzz": return Fuzz(o);
            case "kill-clients": return await KillClientsAsync(o);
            case "kill-server": return await KillServerAsync(o);
            case "churn": return await ChurnAsync(o);
            case "load": return await LoadAsync(o);
            case "exhaust": return await ExhaustAsync(o);
            case "all":
                int failed = 0;
                failed += Fuzz(o) == 0 ? 0 : 1;
                failed += await KillClientsAsync(o) == 0 ? 0 : 1;
                failed += await KillServerAsync(o) == 0 ? 0 : 1;
                failed += await ChurnAsync(o) == 0 ? 0 : 1;
                failed += await LoadAsync(o) == 0 ? 0 : 1;
                failed += await ExhaustAsync(o) == 0 ? 0 : 1;
                Console.WriteLine(failed == 0 ? "all scenarios passed" : $"{failed} scenario(s) FAILED");
                return failed == 0 ? 0 : 1;
            case "child-half-frame": return ChildHalfFrame(args[1]);
            case "child-server": return await ChildServerAsync(args[1], args[2]);
            case "child-default-server": return await ChildDefaultServerAsync(args[1]);
            default:
                Console.Error.WriteLine($"unknown scenario '{args[0]}' (try --help)");
                return 2;
        }
    }

    private static string NewName() => "nps_" + Guid.NewGuid().ToString("N")[..16];

    private static int Verdict(string scenario, Stopwatch clock, List<string> failures, string figures)
    {
        Console.WriteLine($"[{scenario}] {figures}; {clock.Elapsed.TotalSeconds:0.0} s");
        foreach (string f in failures.Take(20))
        {
            Console.WriteLine($"[{scenario}]   FAILURE: {f}");
        }
        Console.WriteLine($"[{scenario}] {(failures.Count == 0 ? "PASS" : $"FAIL ({failures.Count} failures)")}");
        return failures.Count == 0 ? 0 : 1;
    }

    // ---------------------------------------------------------------- fuzz

    private static int Fuzz(Args o)
    {
        long frames = o.Long("frames", 1_000_000);
        int seed = o.Int("seed", 101);
        long max = o.Long("max", 64 * 1024);
        int workers = Environment.ProcessorCount;
        var clock = Stopwatch.StartNew();
        FuzzReport[] reports = new FuzzReport[workers];
        Parallel.For(0, workers, w => reports[w] = FrameFuzzer.Run(seed + w, (int)(frames / 2 / workers), max));
        var failures = reports.SelectMany(r => r.Failures).ToList();
        long valid = reports.Sum(r => r.ValidFrames), mutated = reports.Sum(r => r.MutatedFrames);
        var rejections = reports.SelectMany(r => r.Rejections).GroupBy(kv => kv.Key).Select(g => $"{g.Key} {g.Sum(kv => kv.Value):N0}");
        return Verdict("fuzz", clock, failures,
            $"seeds {seed}..{seed + workers - 1}: {valid + mutated:N0} frames ({valid:N0} valid, {mutated:N0} mutated: " +
            $"{reports.Sum(r => r.MutatedRejected):N0} rejected with a FrameException, {reports.Sum(r => r.MutatedIncomplete):N0} incomplete, " +
            $"{reports.Sum(r => r.MutatedDecodedWhole):N0} still consistent frames), {reports.Sum(r => r.Bytes):N0} bytes, limit {max:N0} bytes, " +
            $"max {reports.Max(r => r.MaxAllocatedPerInput):N0} bytes allocated decoding one input; rejections: {string.Join(", ", rejections)}");
    }

    // ---------------------------------------------------------------- kill-clients

    private static async Task<int> KillClientsAsync(Args o)
    {
        int kills = o.Int("kills", 100);
        int healthyCount = o.Int("healthy", 8);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        string name = NewName();
        var errors = new BlockingCollection<PipeServerErrorEventArgs>();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Crc });
        server.Error += (_, e) => errors.Add(e);
        Task running = server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload));

        using var stop = new CancellationTokenSource();
        long roundTrips = 0;
        Task[] healthy = [.. Enumerable.Range(0, healthyCount).Select(c => Task.Run(async () =>
        {
            await using PipeConnection connection = await PipeConnection.ConnectAsync(name, Crc);
            var random = new Random(c);
            for (long n = 0; !stop.IsCancellationRequested; n++)
            {
                var window = new (byte[] Sent, Task<PipeMessage> Reply)[4];
                for (int k = 0; k < window.Length; k++)
                {
                    byte[] sent = new byte[16 + random.Next(2000)];
                    random.NextBytes(sent);
                    window[k] = (sent, connection.RequestAsync(sent).AsTask());
                }
                foreach ((byte[] sent, Task<PipeMessage> reply) in window)
                {
                    using PipeMessage message = await reply;
                    if (!sent.AsSpan().SequenceEqual(message.Payload.Span))
                    {
                        throw new InvalidDataException($"healthy client {c}: a reply did not match its request");
                    }
                    Interlocked.Increment(ref roundTrips);
                }
            }
        }))];

        int midFrameErrors = 0;
        for (int i = 0; i < kills; i++)
        {
            using Process victim = StartSelf("child-half-frame", name);
            string? line = await victim.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line != "ready")
            {
                failures.Add($"kill {i}: the child said '{line}'");
                continue;
            }
            victim.Kill(); // SIGKILL, with a header and half a payload on the wire
            await victim.WaitForExitAsync();
            if (!errors.TryTake(out PipeServerErrorEventArgs? error, TimeSpan.FromSeconds(30)))
            {
                failures.Add($"kill {i}: the server reported nothing");
            }
            else if (error.Exception is IncompleteFrameException && error.Connection?.DisconnectReason == DisconnectReason.PeerDiedMidFrame)
            {
                midFrameErrors++;
            }
            else
            {
                failures.Add($"kill {i}: unexpected {error.Exception.GetType().Name} ({error.Connection?.DisconnectReason}): {error.Exception.Message}");
            }
        }
        int active = server.ActiveConnections;
        stop.Cancel();
        foreach (Task h in healthy)
        {
            try
            {
                await h.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e)
            {
                failures.Add($"a healthy client failed: {e.GetType().Name}: {e.Message}");
            }
        }
        if (active != healthyCount)
        {
            failures.Add($"{active} connections open after the kills; expected the {healthyCount} healthy ones");
        }
        while (errors.TryTake(out PipeServerErrorEventArgs? extra))
        {
            failures.Add($"an extra server error: {extra.Exception.GetType().Name}: {extra.Exception.Message}");
        }
        await server.StopAsync(TimeSpan.FromSeconds(5));
        await running;
        return Verdict("kill-clients", clock, failures,
            $"{kills} client processes SIGKILLed mid-frame, {midFrameErrors} reported as IncompleteFrameException/PeerDiedMidFrame on their own connection; " +
            $"{healthyCount} healthy clients meanwhile made {roundTrips:N0} checked round trips and all stayed connected, undisturbed");
    }

    private static int ChildHalfFrame(string name)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(PipeNames.GetPath(name)));
        const int Length = 100_000;
        byte[] partial = new byte[8 + Length / 2];
        BinaryPrimitives.WriteUInt32BigEndian(partial, Length + 8);
        BinaryPrimitives.WriteUInt32BigEndian(partial.AsSpan(4), Length);
        socket.Send(partial);
        Console.WriteLine("ready");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    private static Process StartSelf(params string[] args)
    {
        string self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            psi.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        }
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    // ---------------------------------------------------------------- churn

    private static async Task<int> ChurnAsync(Args o)
    {
        int count = o.Int("clients", 10_000);
        int parallel = o.Int("parallel", 8);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        string name = NewName();
        long finished = 0, target = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Crc });
        Task running = server.RunAsync(async (connection, stopping) =>
        {
            await using (connection)
            {
                await EchoLoop.RunAsync(connection, stopping);
            }
            if (Interlocked.Increment(ref finished) == Interlocked.Read(ref target))
            {
                done.TrySetResult();
            }
        });

        async Task Churn(int n)
        {
            int next = -1;
            await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
            {
                for (int i = Interlocked.Increment(ref next); i < n; i = Interlocked.Increment(ref next))
                {
                    await using PipeConnection client = await PipeConnection.ConnectAsync(name, Crc);
                    using PipeMessage reply = await client.RequestAsync(BitConverter.GetBytes(i));
                    if (BitConverter.ToInt32(reply.Payload.Span) != i)
                    {
                        throw new InvalidDataException("a reply did not match its request");
                    }
                }
            })));
        }

        int warmup = Math.Min(1000, count / 10);
        Interlocked.Exchange(ref target, warmup);
        await Churn(warmup);
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        int fdsBefore = OpenFds();
        long heapBefore = HeapAfterFullGc();

        done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref target, warmup + count);
        var churnClock = Stopwatch.StartNew();
        await Churn(count);
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        churnClock.Stop();
        int fdsAfter = OpenFds();
        long heapAfter = HeapAfterFullGc();
        int active = server.ActiveConnections;
        await server.StopAsync(TimeSpan.FromSeconds(5));
        await running;

        if (active != 0)
        {
            failures.Add($"{active} connections still open on the server");
        }
        if (fdsAfter > fdsBefore + 8)
        {
            failures.Add($"open file descriptors grew from {fdsBefore} to {fdsAfter}");
        }
        if (heapAfter - heapBefore > 4L * 1024 * 1024)
        {
            failures.Add($"the managed heap grew by {heapAfter - heapBefore:N0} bytes");
        }
        return Verdict("churn", clock, failures,
            $"{count:N0} clients connected, made a request and left ({parallel} at a time, {count / churnClock.Elapsed.TotalSeconds:N0}/s) after {warmup:N0} warm-up clients: " +
            $"open fds {fdsBefore} -> {fdsAfter}, managed heap after full GC {heapBefore:N0} -> {heapAfter:N0} bytes " +
            $"({(heapAfter - heapBefore) / (double)count:+0.0;-0.0} bytes per client), server connections open after: {active}");
    }

    private static int OpenFds() => Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : -1;

    private static long HeapAfterFullGc()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    // ---------------------------------------------------------------- load

    private static async Task<int> LoadAsync(Args o)
    {
        int clientCount = o.Int("clients", 64);
        int roundTrips = o.Int("round-trips", 10_000);
        int window = o.Int("window", 4);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        string name = NewName();
        long serverReceived = 0, serverSent = 0, clientSent = 0, clientReceived = 0, bytes = 0;
        var serverErrors = new ConcurrentBag<string>();
        var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Crc, MaxConnections = clientCount + 8 });
        server.Error += (_, e) => serverErrors.Add($"{e.Exception.GetType().Name}: {e.Exception.Message}");
        Task running = server.RunAsync(async (connection, stopping) =>
        {
            await EchoLoop.RunAsync(connection, stopping,
                () => Interlocked.Increment(ref serverReceived), () => Interlocked.Increment(ref serverSent));
        });
        long mismatches = 0;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, clientCount).Select(c => Task.Run(async () =>
            {
                await using PipeConnection connection = await PipeConnection.ConnectAsync(name, Crc);
                var random = new Random(c);
                var inFlight = new (byte[] Sent, Task<PipeMessage> Reply)[window];
                for (int start = 0; start < roundTrips; start += window)
                {
                    int n = Math.Min(window, roundTrips - start);
                    for (int k = 0; k < n; k++)
                    {
                        int i = start + k;
                        byte[] sent = new byte[i % 100 == 99 ? 32 * 1024 : 8 + random.Next(300)];
                        random.NextBytes(sent);
                        BitConverter.TryWriteBytes(sent, c);
                        BitConverter.TryWriteBytes(sent.AsSpan(4), i);
                        inFlight[k] = (sent, connection.RequestAsync(sent).AsTask());
                        Interlocked.Increment(ref clientSent);
                        Interlocked.Add(ref bytes, sent.Length);
                    }
                    for (int k = 0; k < n; k++)
                    {
                        using PipeMessage message = await inFlight[k].Reply;
                        Interlocked.Increment(ref clientReceived);
                        if (!inFlight[k].Sent.AsSpan().SequenceEqual(message.Payload.Span))
                        {
                            Interlocked.Increment(ref mismatches);
                        }
                    }
                }
            })));
        }
        catch (Exception e)
        {
            failures.Add($"a client failed: {e.GetType().Name}: {e.Message}");
        }
        double seconds = clock.Elapsed.TotalSeconds;
        await server.StopAsync(TimeSpan.FromSeconds(5));
        await running;
        long expected = (long)clientCount * roundTrips;
        if (mismatches > 0)
        {
            failures.Add($"{mismatches} replies did not match their request");
        }
        if (clientSent != expected || serverReceived != clientSent || serverSent != serverReceived || clientReceived != serverSent)
        {
            failures.Add($"counts differ: clients sent {clientSent}, server received {serverReceived}, server sent {serverSent}, clients received {clientReceived} (expected {expected})");
        }
        failures.AddRange(serverErrors.Take(20));
        return Verdict("load", clock, failures,
            $"{clientCount} clients x {roundTrips:N0} round trips (window {window}, CRC on): clients sent {clientSent:N0} = server received {serverReceived:N0}, " +
            $"server sent {serverSent:N0} = clients received {clientReceived:N0}, {mismatches} mismatches, {bytes * 2 / 1024.0 / 1024:N0} MiB moved, " +
            $"{expected / seconds:N0} round trips/s");
    }

    private sealed class Args
    {
        private readonly Dictionary<string, string> _values = [];

        public Args(string[] args)
        {
            for (int i = 0; i + 1 < args.Length; i += 2)
            {
                _values[args[i].TrimStart('-')] = args[i + 1];
            }
        }

        public int Int(string key, int fallback) => _values.TryGetValue(key, out string? v) ? int.Parse(v) : fallback;

        public long Long(string key, long fallback) => _values.TryGetValue(key, out string? v) ? long.Parse(v) : fallback;
    }
}
