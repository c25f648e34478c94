using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>ServeJsonRpcAsync: the server's options, its error reporting and its graceful stop.</summary>
public class ServerTests
{
    [Fact]
    public async Task Stopping_lets_a_call_in_flight_finish_and_answer_then_closes_the_connection()
    {
        var target = new CallTests.GatedTarget(1);
        RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(target), new PipeServerOptions { Connection = Rpc.Options(), DrainTimeout = TimeSpan.FromMinutes(1) });
        await using (server)
        {
            using JsonRpc client = await Rpc.ConnectAsync(server.Name);
            Task<int> call = client.InvokeWithCancellationAsync<int>("wait", [4], Rpc.Ct);
            await target.AllArrived.Task.Bounded();
            Task stop = server.Server.StopAsync(TimeSpan.FromMinutes(1), Rpc.Ct);
            Assert.True(server.Server.Stopping.IsCancellationRequested);
            Assert.False(call.IsCompleted);
            target.Open(4);
            Assert.Equal(40, await call.Bounded()); // answered although the server is stopping
            await client.Completion.Bounded(); // then the server closed the connection: a clean end, long before the drain deadline
            await stop.Bounded();
            Assert.Empty(server.Errors);
        }
    }

    [Fact]
    public async Task The_servers_payload_limit_applies_and_a_client_over_it_is_reported_and_dropped()
    {
        var options = new PipeServerOptions { Connection = Rpc.Options() with { Frame = Rpc.Options().Frame with { MaxPayloadLength = 1024 } } };
        await using RunningServer server = Rpc.Serve<TestTarget>(options);
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Assert.Equal("small", await client.InvokeWithCancellationAsync<string>("echo", ["small"], Rpc.Ct).Bounded());
        await Assert.ThrowsAsync<ConnectionLostException>(() => client.InvokeWithCancellationAsync<string>("echo", [new string('x', 2048)], Rpc.Ct).Bounded());
        await Until.TrueAsync(() => server.Errors.Length > 0, "the server to report the oversized frame");
        Assert.IsType<FrameTooLargeException>(Assert.Single(server.Errors));
    }

    [Fact]
    public async Task The_servers_idle_timeout_closes_a_silent_client()
    {
        var options = new PipeServerOptions { Connection = Rpc.Options(), IdleTimeout = TimeSpan.FromMilliseconds(200) };
        await using RunningServer server = Rpc.Serve<TestTarget>(options);
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Assert.Equal("hi", await client.InvokeWithCancellationAsync<string>("echo", ["hi"], Rpc.Ct).Bounded());
        await client.Completion.Bounded(); // nothing more sent: the server closed the connection
        await Until.TrueAsync(() => server.Errors.Length > 0, "the server to report the idle timeout");
        Assert.Equal(DisconnectReason.IdleTimeout, Assert.IsType<ConnectionClosedException>(Assert.Single(server.Errors)).Reason);
    }

    [Fact]
    public async Task Errors_are_logged_through_the_servers_logger_factory()
    {
        var logs = new ListLoggerFactory();
        await using RunningServer server = Rpc.Serve<TestTarget>(new PipeServerOptions { Connection = Rpc.Options(), LoggerFactory = logs });
        await using PipeConnection client = await PipeConnection.ConnectAsync(server.Name, Rpc.Options(), Rpc.Ct);
        await client.SendAsync("this is not json"u8.ToArray(), Rpc.Ct);
        using PipeMessage? reply = await client.ReceiveAsync(Rpc.Ct).AsTask().Bounded();
        Assert.Null(reply); // closed without an answer
        await Until.TrueAsync(() => logs.Entries.Any(e => e.EventName == "HandlerFailed"), "the server to log the bad message");
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(logs.Entries.First(e => e.EventName == "HandlerFailed").Exception);
    }
}
