using System.Diagnostics;
using NPipes.Tests.Messaging;

namespace NPipes.Tests.Hostile;

/// <summary>
/// Faults, CI-sized (tests/NPipes.Stress runs the full-size versions): clients SIGKILLed mid-frame, a server killed and
/// restarted under a waiting client, requests in flight when the server goes, and connect/disconnect churn.
/// </summary>
[Collection(HostileCollection.Name)]
public class FaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Python => Hostiles.Python3() ?? throw new InvalidOperationException("python3 is needed");

    private static void RequirePython()
    {
        if (OperatingSystem.IsWindows() || Hostiles.Python3() is null)
        {
            Assert.Skip("Needs Unix and python3 (the killed peers are separate python3 processes).");
        }
    }

    [Fact]
    public async Task Clients_killed_mid_frame_disturb_no_other_connection()
    {
        RequirePython();
        const int Kills = 5;
        string name = TestPipes.NewName();
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = Servers.Crc() });
        await using PipeConnection healthy = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
        using var done = new CancellationTokenSource();
        Task<int> busy = Task.Run(async () =>
        {
            int n = 0;
            while (!done.IsCancellationRequested)
            {
                Task<string>[] window = [.. Enumerable.Range(0, 4).Select(k => healthy.RequestAsync($"{n}.{k}", Ct).AsTask())];
                for (int k = 0; k < window.Length; k++)
                {
                    Assert.Equal($"{n}.{k}", await window[k]);
                }
                n++;
            }
            return n;
        }, Ct);

        for (int i = 0; i < Kills; i++)
        {
            using Process victim = PyPeers.Start(Python, PyPeers.HalfFrameClient, [PipeNames.GetPath(name)]);
            Assert.Equal("ready", await PyPeers.FirstLineAsync(victim)); // header and half the payload are on the wire
            PyPeers.KillHard(victim);
            PipeServerErrorEventArgs error = await server.NextErrorAsync();
            Assert.IsType<IncompleteFrameException>(error.Exception);
            Assert.Equal(DisconnectReason.PeerDiedMidFrame, error.Connection!.DisconnectReason);
        }
        done.Cancel();
        Assert.True(await busy.Within() > 0);
        Assert.True(healthy.IsConnected);
        Assert.Equal(Kills, server.Errors.Count);
        Assert.Equal(1, server.Server.ActiveConnections);
    }

    [Fact]
    public async Task A_killed_server_fails_requests_in_flight_with_a_typed_error_and_a_waiting_client_gets_the_restarted_one()
    {
        RequirePython();
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        NPipesOptions options = Servers.Crc();
        Process server = PyPeers.Start(Python, PyPeers.EchoServer, [path]);
        try
        {
            Assert.Equal("listening", await PyPeers.FirstLineAsync(server));
            await using (PipeConnection client = await PipeConnection.ConnectAsync(name, options, Ct))
            {
                Assert.Equal("one", await client.RequestAsync("one", Ct).AsTask().Within());
                PyPeers.KillHard(server);
                // Requests written after the death, or in flight at it: each fails with a typed error, none hangs.
                Task<string>[] inFlight = [.. Enumerable.Range(0, 3).Select(i => client.RequestAsync($"lost {i}", Ct).AsTask())];
                foreach (Task<string> request in inFlight)
                {
                    await Assert.ThrowsAsync<ConnectionClosedException>(() => request.Within());
                }
                Assert.False(client.IsConnected);
            }
            // A client that waits for the server (connect timeout) gets the restarted one, which reclaims the dead socket file.
            Task<PipeConnection> waiting = PipeConnection.ConnectAsync(name, options, Ct);
            server.Dispose();
            server = PyPeers.Start(Python, PyPeers.EchoServer, [path]);
            Assert.Equal("listening", await PyPeers.FirstLineAsync(server));
            await using PipeConnection again = await waiting.Within();
            Assert.Equal("two", await again.RequestAsync("two", Ct).AsTask().Within());
        }
        finally
        {
            if (!server.HasExited)
            {
                PyPeers.KillHard(server);
            }
            server.Dispose();
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_reconnecting_PipeClient_fails_requests_in_flight_at_a_kill_then_waits_for_the_restarted_server()
    {
        RequirePython();
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        Process server = PyPeers.Start(Python, PyPeers.EchoServer, [path]);
        try
        {
            Assert.Equal("listening", await PyPeers.FirstLineAsync(server));
            await using var client = new PipeClient(name, new PipeClientOptions
            {
                Connection = Servers.Crc(),
                InitialReconnectDelay = TimeSpan.FromMilliseconds(5),
                MaxReconnectDelay = TimeSpan.FromMilliseconds(50),
            });
            await client.ConnectAsync(Ct).Within();
            Assert.Equal("one", await client.RequestAsync("one", Ct).AsTask().Within());

            PyPeers.KillHard(server);
            // Requests into the dead connection fail with a typed error (and are never re-sent); those issued once the
            // client has seen the loss wait for the reconnection. Nothing else can finish while no server runs.
            Task<string>[] requests = [.. Enumerable.Range(0, 4).Select(i => client.RequestAsync($"r{i}", Ct).AsTask())];
            Task<string> first = await Task.WhenAny(requests).Within();
            await Assert.ThrowsAsync<ConnectionClosedException>(() => first);

            server.Dispose();
            server = PyPeers.Start(Python, PyPeers.EchoServer, [path]);
            Assert.Equal("listening", await PyPeers.FirstLineAsync(server));
            // Each request either was sent into the dead connection and failed, typed, or waited and got its own reply
            // from the restarted server; the client stops using the dead connection once it has seen the loss, so the
            // failures are the first requests issued and the waiting ones the rest.
            var outcomes = new List<string>();
            for (int i = 0; i < requests.Length; i++)
            {
                Exception? e = await Record.ExceptionAsync(() => requests[i].Within());
                Assert.True(e is null or ConnectionClosedException, $"request r{i}: {e}");
                outcomes.Add(e is null ? await requests[i] : "failed");
            }
            int failures = outcomes.Count(o => o == "failed");
            Assert.InRange(failures, 1, requests.Length);
            string[] expected = [.. Enumerable.Repeat("failed", failures), .. Enumerable.Range(failures, requests.Length - failures).Select(i => $"r{i}")];
            Assert.Equal(expected, outcomes);
            Assert.Equal("after", await client.RequestAsync("after", Ct).AsTask().Within());
        }
        finally
        {
            if (!server.HasExited)
            {
                PyPeers.KillHard(server);
            }
            server.Dispose();
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Requests_in_flight_when_the_server_stops_fail_with_ConnectionClosedException()
    {
        string name = TestPipes.NewName();
        var held = new CountdownEvent(4);
        var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Servers.Crc() });
        Task running = server.ServeRequestsAsync(async (PipeMessage request, CancellationToken token) =>
        {
            held.Signal();
            await Task.Delay(TestPipes.Patience * 3, token); // never answers in time; ends when the server aborts
            return ReadOnlyMemory<byte>.Empty;
        }, Ct);
        PipeConnection[] clients = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PipeConnection.ConnectAsync(name, Servers.Crc(), Ct))).Within();
        Task<PipeMessage>[] requests = [.. clients.SelectMany(c => Enumerable.Range(0, 3).Select(i => c.RequestAsync(new byte[] { (byte)i }, Ct).AsTask()))];
        await Task.Run(() => held.Wait(Ct), Ct).Within(); // every client's first request is in a handler
        await server.StopAsync(TimeSpan.Zero, Ct).Within();
        await running.Within();
        foreach (Task<PipeMessage> request in requests)
        {
            await Assert.ThrowsAsync<ConnectionClosedException>(() => request.Within());
        }
        Assert.All(clients, c => Assert.False(c.IsConnected));
        foreach (PipeConnection c in clients)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_thousand_clients_connecting_and_leaving_leak_no_handles_or_memory()
    {
        const int Warmup = 200, Clients = 1000;
        string name = TestPipes.NewName();
        int finished = 0;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int target = Warmup;
        var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Servers.Crc() });
        Task running = server.RunAsync(async (connection, stopping) =>
        {
            await using (connection)
            {
                await EchoLoop.RunAsync(connection, stopping);
            }
            if (Interlocked.Increment(ref finished) == Volatile.Read(ref target))
            {
                allDone.TrySetResult();
            }
        }, Ct);
        await using (server)
        {
            async Task Churn(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
                    using PipeMessage reply = await client.RequestAsync(BitConverter.GetBytes(i), Ct);
                    Assert.Equal(i, BitConverter.ToInt32(reply.Payload.Span));
                }
            }
            await Churn(Warmup).Within();
            await allDone.Task.Within();
            int fdsBefore = Hostiles.OpenFileDescriptors();
            long heapBefore = Hostiles.ManagedHeapAfterFullGc();

            allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref target, Warmup + Clients);
            await Churn(Clients).WaitAsync(TimeSpan.FromSeconds(60), Ct);
            await allDone.Task.Within(); // every server-side handler has closed its connection
            int fdsAfter = Hostiles.OpenFileDescriptors();
            long heapAfter = Hostiles.ManagedHeapAfterFullGc();

            TestContext.Current.SendDiagnosticMessage($"churn {Clients}: fds {fdsBefore} -> {fdsAfter}, heap {heapBefore:N0} -> {heapAfter:N0}");
            Assert.Equal(0, server.ActiveConnections);
            if (fdsBefore >= 0)
            {
                Assert.InRange(fdsAfter, 0, fdsBefore + 8);
            }
            Assert.True(heapAfter - heapBefore < 2 * 1024 * 1024, $"managed heap grew by {heapAfter - heapBefore:N0} bytes over {Clients} clients");
        }
        await running.Within();
    }
}
