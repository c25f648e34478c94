using System.Buffers.Binary;
using NPipes.Transport;

namespace NPipes.Tests.Messaging;

/// <summary>PipeServer: independence of connections, limit, graceful stop, idle timeout, error reporting, pull-based accept.</summary>
public class ServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A raw client stream, to send bytes that are not (whole) frames.</summary>
    private static async Task<Stream> RawAsync(string name) =>
        await PipeConnector.ConnectAsync(name, PipeAccess.CurrentUser, TestPipes.Patience, Ct);

    [Fact]
    public async Task Silent_half_frame_and_garbage_clients_affect_only_themselves()
    {
        string name = TestPipes.NewName();
        var errors = new List<PipeServerErrorEventArgs>();
        var garbageReported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        (PipeServer server, Task running) = Servers.StartEcho(name);
        server.Error += (_, e) =>
        {
            lock (errors) { errors.Add(e); }
            if (e.Exception is FrameException)
            {
                garbageReported.TrySetResult();
            }
        };
        await using (server)
        {
            await using Stream silent = await RawAsync(name);
            await using Stream half = await RawAsync(name);
            await using Stream garbage = await RawAsync(name);
            byte[] frame = FrameCodec.EncodeText("late but whole", FrameOptions.Default with { Crc = true });
            await half.WriteAsync(frame.AsMemory(0, 6), Ct); // six bytes of a header, then nothing (for now)
            byte[] header = new byte[8];
            BinaryPrimitives.WriteUInt32BigEndian(header, 108);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 99); // lengths that disagree
            await garbage.WriteAsync(header, Ct);

            for (int c = 0; c < 4; c++)
            {
                await using PipeConnection good = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
                for (int i = 0; i < 20; i++)
                {
                    Assert.Equal($"{c}/{i}", await good.RequestAsync($"{c}/{i}", Ct));
                }
            }

            await garbageReported.Task.Within();
            Assert.Equal(0, await garbage.ReadAsync(new byte[1], Ct).AsTask().Within()); // its connection was closed
            // The silent and the half-frame clients were never disturbed: they can still finish a request.
            await half.WriteAsync(frame.AsMemory(6), Ct);
            await silent.WriteAsync(frame, Ct);
            foreach (Stream raw in new[] { half, silent })
            {
                byte[] reply = new byte[frame.Length];
                await raw.ReadExactlyAsync(reply, Ct).AsTask().Within();
                Assert.Equal(frame, reply);
            }
        }
        await running.Within();
        lock (errors)
        {
            PipeServerErrorEventArgs reported = Assert.Single(errors, e => e.Exception is FrameException);
            Assert.IsType<FrameLengthMismatchException>(reported.Exception);
            Assert.Equal(DisconnectReason.ProtocolError, reported.Connection!.DisconnectReason);
        }
    }

    [Fact]
    public async Task A_client_beyond_the_limit_is_refused_and_a_freed_slot_is_reused()
    {
        string name = TestPipes.NewName();
        var handlerClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options(), MaxConnections = 2, DrainTimeout = TimeSpan.Zero });
        Task running = server.RunAsync(async (connection, stopping) =>
        {
            try
            {
                while (await connection.ReceiveTextAsync(stopping) is { } text)
                {
                    await connection.SendAsync(text, CancellationToken.None);
                }
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
            connection.Dispose(); // frees the slot before we signal
            handlerClosed.TrySetResult();
        }, Ct);

        PipeConnection first = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await using PipeConnection second = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Assert.Equal("1", await first.RequestAsync("1", Ct)); // both accepted and served
        Assert.Equal("2", await second.RequestAsync("2", Ct));

        await using (PipeConnection third = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct))
        {
            // The connect succeeds; then the server closes it without reading: a request fails, typed.
            await Assert.ThrowsAsync<ConnectionClosedException>(() => third.RequestAsync("3", Ct).AsTask().Within());
        }
        Assert.Equal(1, server.RefusedConnections);

        await first.DisposeAsync();
        await handlerClosed.Task.Within();
        await using PipeConnection fourth = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Assert.Equal("4", await fourth.RequestAsync("4", Ct));
        Assert.Equal(1, server.RefusedConnections);
        await server.StopAsync(TimeSpan.Zero, Ct).Within();
        await running.Within();
    }

    [Fact]
    public async Task Graceful_stop_finishes_the_request_in_progress_then_closes()
    {
        string name = TestPipes.NewName();
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task running = server.ServeRequestsAsync(async (string request, CancellationToken token) =>
        {
            inHandler.TrySetResult();
            await release.Task.WaitAsync(token);
            return "done " + request;
        }, Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Task<string> reply = client.RequestAsync("slow", Ct).AsTask();
        await inHandler.Task.Within();

        Task stop = server.StopAsync(TestPipes.Patience, Ct);
        Assert.True(server.Stopping.IsCancellationRequested);
        Assert.False(stop.IsCompleted); // draining: the request in progress holds it
        release.SetResult();

        Assert.Equal("done slow", await reply.Within());
        await stop.Within();
        await running.Within();
        await Assert.ThrowsAsync<ConnectionClosedException>(() => client.RequestAsync("after", Ct).AsTask().Within());
    }

    [Fact]
    public async Task Stop_closes_connections_that_outlive_the_drain_deadline()
    {
        string name = TestPipes.NewName();
        var errors = new List<Exception>();
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        server.Error += (_, e) => { lock (errors) { errors.Add(e.Exception); } };
        Task running = server.ServeRequestsAsync(async (string request, CancellationToken token) =>
        {
            inHandler.TrySetResult();
            await Task.Delay(TestPipes.Patience * 3, token); // does not finish in the test's time on its own
            return request;
        }, Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Task<string> reply = client.RequestAsync("stuck", Ct).AsTask();
        await inHandler.Task.Within();

        await server.StopAsync(TimeSpan.FromMilliseconds(100), Ct).Within();
        await running.Within();
        await Assert.ThrowsAsync<ConnectionClosedException>(() => reply.Within());
        Assert.Equal(0, server.ActiveConnections);
        lock (errors)
        {
            Assert.Contains(errors, e => e is OperationCanceledException); // the cut-off handler is reported, not hidden
        }
    }

    [Fact]
    public async Task An_idle_connection_is_closed_with_a_clear_reason()
    {
        string name = TestPipes.NewName();
        var reason = new TaskCompletionSource<DisconnectReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options(), IdleTimeout = TimeSpan.FromMilliseconds(200) });
        Task running = server.RunAsync(async (connection, stopping) =>
        {
            try
            {
                while (await connection.ReceiveTextAsync(stopping) is { } text)
                {
                    await connection.SendAsync(text, CancellationToken.None);
                }
            }
            catch (ConnectionClosedException)
            {
                // expected: the watchdog closed it
            }
            reason.TrySetResult(connection.DisconnectReason);
        }, Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Assert.Equal("active", await client.RequestAsync("active", Ct)); // working, then silent

        Assert.Equal(DisconnectReason.IdleTimeout, await reason.Task.Within());
        Assert.Null(await client.ReceiveAsync(Ct).Within()); // the client sees the server close the connection
        await server.StopAsync(TimeSpan.Zero, Ct).Within();
        await running.Within();
    }

    [Fact]
    public async Task A_throwing_handler_is_reported_and_closes_only_its_connection()
    {
        string name = TestPipes.NewName();
        var reported = new TaskCompletionSource<PipeServerErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        server.Error += (_, e) => reported.TrySetResult(e);
        Task running = server.ServeRequestsAsync((string request, CancellationToken _) =>
            request == "boom" ? throw new InvalidOperationException("handler failed") : ValueTask.FromResult(request), Ct);

        await using PipeConnection good = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await using PipeConnection bad = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Assert.Equal("a", await good.RequestAsync("a", Ct));
        await Assert.ThrowsAsync<ConnectionClosedException>(() => bad.RequestAsync("boom", Ct).AsTask().Within());
        PipeServerErrorEventArgs error = await reported.Task.Within();
        Assert.Equal("handler failed", Assert.IsType<InvalidOperationException>(error.Exception).Message);
        Assert.Equal("b", await good.RequestAsync("b", Ct));
        await server.StopAsync(TimeSpan.Zero, Ct).Within();
        await running.Within();
    }

    [Fact]
    public async Task Cancelling_the_run_token_stops_the_server_and_frees_the_name()
    {
        string name = TestPipes.NewName();
        using var cancel = new CancellationTokenSource();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task running = server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult(request), cancel.Token);
        await using (PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct))
        {
            Assert.Equal("x", await client.RequestAsync("x", Ct));
            cancel.Cancel();
            await running.Within(); // returns normally once stopped and drained
            Assert.Null(await client.ReceiveAsync(Ct).Within()); // the idle connection was closed
        }
        await using (PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() }))
        {
            // the name is free again
        }
    }

    [Fact]
    public async Task Pull_based_accept_hands_out_connections_until_stopped()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        var accepted = new List<PipeConnection>();
        Task<int> pulling = Task.Run(async () =>
        {
            await foreach (PipeConnection connection in server.AcceptAllAsync(Ct))
            {
                await using PipeConnection _ = connection; // the slot is held until the connection is disposed
                accepted.Add(connection);
                using PipeMessage? hello = await connection.ReceiveAsync(Ct);
                await connection.SendAsync(hello!.Payload, Ct);
            }
            return accepted.Count;
        }, Ct);
        for (int i = 0; i < 3; i++)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
            Assert.Equal($"hi {i}", await client.RequestAsync($"hi {i}", Ct));
        }
        await server.StopAsync(TestPipes.Patience, Ct).Within(); // every accepted connection was disposed: nothing to drain
        Assert.Equal(3, await pulling.Within());
        Assert.All(accepted, c => Assert.False(c.IsConnected));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => server.AcceptAsync(Ct).AsTask());
    }
}
