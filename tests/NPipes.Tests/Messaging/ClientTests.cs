namespace NPipes.Tests.Messaging;

/// <summary>PipeClient: state, reconnection after a server restart, no re-sending, disposal.</summary>
public class ClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static PipeClientOptions Options(bool autoReconnect = true) => new()
    {
        Connection = TestPipes.Options(),
        AutoReconnect = autoReconnect,
        InitialReconnectDelay = TimeSpan.FromMilliseconds(5),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(50),
    };

    /// <summary>An echo server that records every request it received.</summary>
    private static (PipeServer Server, Task Running, List<string> Seen) StartRecordingEcho(string name)
    {
        var seen = new List<string>();
        var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options(), DrainTimeout = TimeSpan.Zero });
        Task running = server.ServeRequestsAsync((string request, CancellationToken _) =>
        {
            lock (seen) { seen.Add(request); }
            return ValueTask.FromResult(request);
        });
        return (server, running, seen);
    }

    [Fact]
    public async Task Reconnects_after_the_server_restarts_on_the_same_name_without_resending()
    {
        string name = TestPipes.NewName();
        var states = new List<PipeClientState>();
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = new PipeClient(name, Options());
        client.StateChanged += (_, e) =>
        {
            lock (states)
            {
                states.Add(e.Current);
                if (e.Current == PipeClientState.Connected && states.Count(s => s == PipeClientState.Connected) == 2)
                {
                    reconnected.TrySetResult();
                }
            }
        };

        (PipeServer first, Task firstRunning, List<string> firstSeen) = StartRecordingEcho(name);
        await client.ConnectAsync(Ct).Within();
        Assert.Equal(PipeClientState.Connected, client.State);
        Assert.Equal("one", await client.RequestAsync("one", Ct));

        await first.StopAsync(TimeSpan.Zero, Ct).Within();
        await firstRunning.Within();
        // The loss is noticed by the next operation, which fails and is not retried.
        await Assert.ThrowsAsync<ConnectionClosedException>(() => client.RequestAsync("lost", Ct).AsTask().Within());

        (PipeServer second, Task secondRunning, List<string> secondSeen) = StartRecordingEcho(name);
        await using (second)
        {
            await reconnected.Task.Within();
            Assert.Equal(PipeClientState.Connected, client.State);
            Assert.Equal("two", await client.RequestAsync("two", Ct));
        }
        await secondRunning.Within();

        Assert.Equal(["one"], firstSeen);
        Assert.Equal(["two"], secondSeen); // "lost" was never re-sent
        lock (states)
        {
            Assert.Equal([PipeClientState.Connecting, PipeClientState.Connected, PipeClientState.Disconnected, PipeClientState.Connecting, PipeClientState.Connected], states.Take(5));
        }
        await client.DisposeAsync();
        Assert.Equal(PipeClientState.Closed, client.State);
    }

    [Fact]
    public async Task Without_auto_reconnect_a_loss_leaves_it_disconnected_until_connect_is_called()
    {
        string name = TestPipes.NewName();
        await using var client = new PipeClient(name, Options(autoReconnect: false));
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.SendAsync("too early", Ct).AsTask());

        (PipeServer first, Task firstRunning, _) = StartRecordingEcho(name);
        await client.ConnectAsync(Ct).Within();
        Assert.Equal("a", await client.RequestAsync("a", Ct));
        await first.StopAsync(TimeSpan.Zero, Ct).Within();
        await firstRunning.Within();
        await Assert.ThrowsAsync<ConnectionClosedException>(() => client.RequestAsync("b", Ct).AsTask().Within());
        Assert.Equal(PipeClientState.Disconnected, client.State);
        await Assert.ThrowsAsync<ConnectionClosedException>(() => client.RequestAsync("c", Ct).AsTask());

        (PipeServer second, Task secondRunning, _) = StartRecordingEcho(name);
        await using (second)
        {
            await client.ConnectAsync(Ct).Within();
            Assert.Equal("d", await client.RequestAsync("d", Ct));
        }
        await secondRunning.Within();
    }

    [Fact]
    public async Task Disposing_while_reconnecting_fails_waiting_operations()
    {
        string name = TestPipes.NewName();
        var client = new PipeClient(name, Options());
        (PipeServer server, Task running, _) = StartRecordingEcho(name);
        await client.ConnectAsync(Ct).Within();
        await server.StopAsync(TimeSpan.Zero, Ct).Within();
        await running.Within();
        await Assert.ThrowsAsync<ConnectionClosedException>(() => client.RequestAsync("x", Ct).AsTask().Within());
        Assert.Equal(PipeClientState.Connecting, client.State); // no server: it keeps trying

        Task<string> waiting = client.RequestAsync("waits for a connection", Ct).AsTask();
        await client.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.Within());
        Assert.Equal(PipeClientState.Closed, client.State);
    }

    [Fact]
    public async Task Connect_times_out_when_no_server_appears()
    {
        await using var client = new PipeClient(TestPipes.NewName(), Options() with { Connection = TestPipes.Options() with { Timeout = TimeSpan.FromMilliseconds(50) } });
        await Assert.ThrowsAsync<TimeoutException>(() => client.ConnectAsync(Ct).Within());
        Assert.Equal(PipeClientState.Disconnected, client.State);
    }
}
