using System.Collections.Concurrent;
using System.Diagnostics;
using NPipes;

internal static partial class Stress
{
    // ---------------------------------------------------------------- kill-server

    private static async Task<int> KillServerAsync(Args o)
    {
        int restarts = o.Int("restarts", 10);
        int clientCount = o.Int("clients", 8);
        long perLife = o.Long("per-life", 2000);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        string name = NewName();
        string log = Path.Combine(Path.GetTempPath(), name + ".log");
        Process server = await StartServerAsync(name, log);

        long replies = 0, corrupted = 0, lifeReplies = 0;
        var replied = new ConcurrentDictionary<string, byte>();
        var failedTypes = new ConcurrentDictionary<string, long>();
        var untyped = new ConcurrentBag<string>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var clientOptions = new PipeClientOptions
        {
            Connection = Crc,
            InitialReconnectDelay = TimeSpan.FromMilliseconds(10),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        };
        Task[] clients = [.. Enumerable.Range(0, clientCount).Select(c => Task.Run(async () =>
        {
            await using var client = new PipeClient(name, clientOptions);
            await client.ConnectAsync();
            for (long seq = 0; !stop.IsCancellationRequested; seq++)
            {
                string id = $"{c}:{seq}";
                try
                {
                    string reply = await client.RequestAsync(id, stop.Token);
                    if (reply != id)
                    {
                        Interlocked.Increment(ref corrupted);
                    }
                    else if (!replied.TryAdd(id, 0))
                    {
                        untyped.Add($"{id} was replied to twice");
                    }
                    Interlocked.Increment(ref replies);
                    if (Interlocked.Increment(ref lifeReplies) == perLife)
                    {
                        enough.TrySetResult();
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (NPipesException e)
                {
                    failedTypes.AddOrUpdate(e.GetType().Name + (e is ConnectionClosedException cc ? "/" + cc.Reason : ""), 1, (_, n) => n + 1);
                }
                catch (Exception e)
                {
                    untyped.Add($"{id}: {e.GetType().Name}: {e.Message}");
                    failedTypes.AddOrUpdate("untyped " + e.GetType().Name, 1, (_, n) => n + 1);
                }
            }
        }))];

        for (int r = 0; r <= restarts; r++)
        {
            await enough.Task.WaitAsync(TimeSpan.FromSeconds(120));
            if (r == restarts)
            {
                break;
            }
            enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            server.Kill(); // SIGKILL, with requests in flight
            await server.WaitForExitAsync();
            server.Dispose();
            Interlocked.Exchange(ref lifeReplies, 0);
            server = await StartServerAsync(name, log);
        }
        stop.Cancel();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));
        server.Kill();
        await server.WaitForExitAsync();
        server.Dispose();
        File.Delete(PipeNames.GetPath(name)); // the killed server's socket file (a next server would reclaim it anyway)

        // The servers' log: each request id it received, one line each, written before replying.
        var received = new Dictionary<string, int>();
        foreach (string line in File.ReadLines(log))
        {
            if (line.EndsWith(';')) // a line cut by the SIGKILL has no terminator: not counted
            {
                received[line[..^1]] = received.GetValueOrDefault(line[..^1]) + 1;
            }
        }
        File.Delete(log);
        int twice = received.Count(kv => kv.Value > 1);
        int repliedNotReceived = replied.Keys.Count(id => !received.ContainsKey(id));
        if (twice > 0)
        {
            failures.Add($"{twice} requests were delivered to the server more than once");
        }
        if (repliedNotReceived > 0)
        {
            failures.Add($"{repliedNotReceived} replies for requests no server logged");
        }
        if (corrupted > 0)
        {
            failures.Add($"{corrupted} replies did not match their request");
        }
        failures.AddRange(untyped.Take(20));
        long failed = failedTypes.Values.Sum();
        return Verdict("kill-server", clock, failures,
            $"server process SIGKILLed and restarted {restarts} times under {clientCount} reconnecting PipeClients: {replies:N0} replies, all matching; " +
            $"{received.Count:N0} requests received by the servers, none twice; {failed:N0} requests failed, all typed: " +
            string.Join(", ", failedTypes.Select(kv => $"{kv.Key} {kv.Value:N0}")));
    }

    private static async Task<Process> StartServerAsync(string name, string log)
    {
        Process server = StartSelf("child-server", name, log);
        string? line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return line == "listening" ? server : throw new InvalidOperationException($"the server child said '{line}'");
    }

    private static async Task<int> ChildServerAsync(string name, string log)
    {
        await using var writer = new StreamWriter(new FileStream(log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var gate = new Lock();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Crc }); // reclaims the killed one's socket file
        Console.WriteLine("listening");
        Console.Out.Flush();
        await server.ServeRequestsAsync((string id, CancellationToken _) =>
        {
            lock (gate)
            {
                writer.Write(id + ";\n");
            }
            return ValueTask.FromResult(id);
        });
        return 0;
    }
}
