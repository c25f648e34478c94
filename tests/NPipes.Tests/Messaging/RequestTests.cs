namespace NPipes.Tests.Messaging;

/// <summary>Request/response on a PipeConnection: FIFO matching, pipelining, sync path, cancellation and timeouts.</summary>
public class RequestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A server that reads requests and never answers, counting what it received.</summary>
    private sealed class SilentServer : IAsyncDisposable
    {
        private readonly TaskCompletionSource[] _received;
        private int _count;

        public SilentServer(string name, int expected)
        {
            _received = Enumerable.Range(0, expected).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            Server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options(), DrainTimeout = TimeSpan.Zero });
            Running = Server.RunAsync(async (connection, stopping) =>
            {
                try
                {
                    while (await connection.ReceiveAsync(stopping) is { } message)
                    {
                        message.Dispose();
                        int n = Interlocked.Increment(ref _count);
                        if (n <= _received.Length)
                        {
                            _received[n - 1].TrySetResult();
                        }
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or ConnectionClosedException)
                {
                    // Stopping, or the client closed the connection.
                }
            });
        }

        public PipeServer Server { get; }

        public Task Running { get; }

        public Task Received(int n) => _received[n - 1].Task.Within();

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Running.Within();
        }
    }

    [Fact]
    public async Task Bytes_text_and_sync_requests_get_their_replies()
    {
        string name = TestPipes.NewName();
        (PipeServer server, Task running) = Servers.StartEcho(name);
        await using (server)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
            using (PipeMessage reply = await client.RequestAsync(new byte[] { 1, 2, 3 }, Ct))
            {
                Assert.Equal(new byte[] { 1, 2, 3 }, reply.ToArray());
            }
            Assert.Equal("hello", await client.RequestAsync("hello", Ct));
            Assert.Equal("", await client.RequestAsync("", Ct));
            Assert.Equal("sync", client.Request("sync"));
            using (PipeMessage reply = client.Request(new byte[] { 9 }, TestPipes.Patience))
            {
                Assert.Equal(new byte[] { 9 }, reply.ToArray());
            }
            Assert.Equal(0, client.PendingRequests);
        }
        await running.Within();
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_fifo_order()
    {
        string name = TestPipes.NewName();
        (PipeServer server, Task running) = Servers.StartEcho(name);
        await using (server)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
            Task<string>[] replies = Enumerable.Range(0, 200).Select(i => client.RequestAsync("request " + i, Ct).AsTask()).ToArray();
            string[] got = await Task.WhenAll(replies).Within();
            for (int i = 0; i < got.Length; i++)
            {
                Assert.Equal("request " + i, got[i]);
            }
        }
        await running.Within();
    }

    [Fact]
    public async Task Sync_and_async_requests_from_several_threads_share_one_connection()
    {
        string name = TestPipes.NewName();
        (PipeServer server, Task running) = Servers.StartEcho(name);
        await using (server)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
            Task[] workers = Enumerable.Range(0, 4).Select(t => Task.Factory.StartNew(() =>
            {
                for (int i = 0; i < 200; i++)
                {
                    string request = $"{t}:{i}";
                    string reply = t % 2 == 0 ? client.Request(request) : client.RequestAsync(request, Ct).AsTask().GetAwaiter().GetResult();
                    Assert.Equal(request, reply);
                }
            }, Ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            await Task.WhenAll(workers).Within();
        }
        await running.Within();
    }

    [Fact]
    public async Task Cancelling_a_written_request_closes_the_connection_and_fails_every_request_in_flight()
    {
        string name = TestPipes.NewName();
        await using var server = new SilentServer(name, 2);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Task<string> first = client.RequestAsync("first", Ct).AsTask();
        using var cancel = new CancellationTokenSource();
        Task<string> second = client.RequestAsync("second", cancel.Token).AsTask();
        await server.Received(2); // both are on the wire
        Assert.Equal(2, client.PendingRequests);

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Within());
        ConnectionClosedException e = await Assert.ThrowsAsync<ConnectionClosedException>(() => first.Within());
        Assert.Equal(DisconnectReason.Aborted, e.Reason);
        Assert.Equal(DisconnectReason.Aborted, client.DisconnectReason);
        Assert.Equal(0, client.PendingRequests);
        ConnectionClosedException later = await Assert.ThrowsAsync<ConnectionClosedException>(() => client.RequestAsync("later", Ct).AsTask());
        Assert.Equal(DisconnectReason.Aborted, later.Reason);
    }

    [Fact]
    public async Task A_timed_out_request_closes_the_connection_async_and_sync()
    {
        string name = TestPipes.NewName();
        await using var server = new SilentServer(name, 2);
        await using (PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => client.RequestAsync("a", TimeSpan.FromMilliseconds(100), Ct).AsTask().Within());
            Assert.Equal(DisconnectReason.Aborted, client.DisconnectReason);
        }
        await using (PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct))
        {
            // The sync read is blocked in the OS; the timeout interrupts it by closing the connection.
            await Assert.ThrowsAsync<TimeoutException>(() => Task.Run(() => client.Request("b", TimeSpan.FromMilliseconds(100)), Ct).Within());
            Assert.Equal(DisconnectReason.Aborted, client.DisconnectReason);
        }
    }

    [Fact]
    public async Task A_request_cancelled_before_it_is_written_leaves_the_connection_usable()
    {
        string name = TestPipes.NewName();
        (PipeServer server, Task running) = Servers.StartEcho(name);
        await using (server)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.RequestAsync("x", new CancellationToken(canceled: true)).AsTask());
            Assert.True(client.IsConnected);
            Assert.Equal("still fine", await client.RequestAsync("still fine", Ct));
        }
        await running.Within();
    }

    [Fact]
    public async Task An_oversized_request_is_refused_without_sending()
    {
        string name = TestPipes.NewName();
        var options = new PipeServerOptions { Connection = Servers.Crc(maxPayload: 16) };
        (PipeServer server, Task running) = Servers.StartEcho(name, options);
        await using (server)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(maxPayload: 16), Ct);
            await Assert.ThrowsAsync<FrameTooLargeException>(() => client.RequestAsync(new byte[17], Ct).AsTask());
            Assert.Equal(0, client.PendingRequests);
            Assert.Equal("fits", await client.RequestAsync("fits", Ct));
        }
        await running.Within();
    }

    [Fact]
    public async Task A_garbage_reply_fails_its_request_with_the_frame_error_and_the_rest_as_closed()
    {
        string name = TestPipes.NewName();
        using var listener = NPipes.Transport.PipeListener.Create(name, new NPipes.Transport.ListenOptions(true, 65536, -1));
        Task<Stream> accepting = listener.AcceptAsync(Ct).AsTask();
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await using Stream raw = await accepting.Within();
        Task<string> first = client.RequestAsync("1", Ct).AsTask();
        Task<string> second = client.RequestAsync("2", Ct).AsTask();
        await raw.WriteAsync(new byte[] { 0, 0, 0, 9, 0, 0, 0, 2 }, Ct); // MessageLength 9 with DataLength 2: not a frame

        await Assert.ThrowsAsync<FrameLengthMismatchException>(() => first.Within());
        ConnectionClosedException e = await Assert.ThrowsAsync<ConnectionClosedException>(() => second.Within());
        Assert.Equal(DisconnectReason.ProtocolError, e.Reason);
    }

    [Fact]
    public async Task Requests_in_flight_fail_when_the_server_closes()
    {
        string name = TestPipes.NewName();
        await using var server = new SilentServer(name, 3);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Task<string>[] requests = [client.RequestAsync("1", Ct).AsTask(), client.RequestAsync("2", Ct).AsTask(), client.RequestAsync("3", Ct).AsTask()];
        await server.Received(3);
        await server.Server.StopAsync(TimeSpan.Zero, Ct).Within();
        foreach (Task<string> request in requests)
        {
            await Assert.ThrowsAsync<ConnectionClosedException>(() => request.Within());
        }
        Assert.False(client.IsConnected);
    }
}
