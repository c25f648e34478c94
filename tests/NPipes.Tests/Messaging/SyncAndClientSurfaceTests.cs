using System.Buffers;
using System.Text;
using System.Text.Json;

namespace NPipes.Tests.Messaging;

/// <summary>
/// Public members the other suites did not reach (issue 14): the synchronous twins of <see cref="PipeConnection"/>,
/// <see cref="PipeClient"/>'s binary send, receive and synchronous dispose, and the reflection JSON request.
/// </summary>
public class SyncAndClientSurfaceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sync_twins_connect_send_flush_receive_and_dispose()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task<PipeConnection> accepting = server.AcceptAsync(Ct).AsTask();
        // Sync calls run on a pool thread so that a hang fails the test at the bound instead of blocking it.
        PipeConnection client = await Task.Run(() => PipeConnection.Connect(name, TestPipes.Options()), Ct).Within();
        await using PipeConnection peer = await accepting.Within();
        Assert.Equal(name, client.PipeName);

        await Task.Run(() => { client.Send("text"); client.Send(new byte[] { 1, 2, 3 }); client.Flush(); }, Ct).Within();
        Assert.Equal("text", await peer.ReceiveTextAsync(Ct).Within());
        using (PipeMessage? bytes = await peer.ReceiveAsync(Ct).Within())
        {
            Assert.Equal(new byte[] { 1, 2, 3 }, bytes!.ToArray());
        }

        await peer.SendAsync("back", Ct);
        await peer.SendAsync(new byte[] { 4, 5 }, Ct);
        await peer.SendAsync("text back", Ct);
        await peer.FlushAsync(Ct);
        using (PipeMessage? message = await Task.Run(() => client.Receive(), Ct).Within())
        {
            Assert.Equal("back", message!.GetText());
        }
        var buffer = new ArrayBufferWriter<byte>();
        Assert.Equal(2, await Task.Run(() => client.ReceiveInto(buffer), Ct).Within());
        Assert.Equal(new byte[] { 4, 5 }, buffer.WrittenSpan.ToArray());
        Assert.Equal("text back", await Task.Run(() => client.ReceiveText(), Ct).Within());

        // Sync Dispose writes what is queued first, then closes: the peer gets the last message, then a clean end.
        await Task.Run(() => { client.Send("last"); client.Dispose(); }, Ct).Within();
        Assert.Equal(DisconnectReason.LocalClose, client.DisconnectReason);
        Assert.False(client.IsConnected);
        Assert.Throws<ConnectionClosedException>(() => client.Flush());
        Assert.Throws<ConnectionClosedException>(() => client.Send("after"));
        Assert.Equal("last", await peer.ReceiveTextAsync(Ct).Within());
        Assert.Null(await peer.ReceiveAsync(Ct).Within());
    }

    [Fact]
    public async Task Sync_connect_to_no_server_times_out()
    {
        NPipesOptions options = TestPipes.Options() with { Timeout = TimeSpan.FromMilliseconds(200) };
        string name = TestPipes.NewName();
        await Assert.ThrowsAsync<TimeoutException>(() => Task.Run(() => PipeConnection.Connect(name, options), Ct).Within());
    }

    [Fact]
    public async Task Client_sends_bytes_receives_and_disposes_synchronously()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task<PipeConnection> accepting = server.AcceptAsync(Ct).AsTask();
        var client = new PipeClient(name, new PipeClientOptions { Connection = TestPipes.Options() });
        var changes = new List<PipeClientStateChangedEventArgs>();
        client.StateChanged += (_, e) =>
        {
            lock (changes)
            {
                changes.Add(e);
            }
        };
        await client.ConnectAsync(Ct).Within();
        await using PipeConnection peer = await accepting.Within();

        await client.SendAsync(new byte[] { 1, 2, 3 }, Ct);
        using (PipeMessage? got = await peer.ReceiveAsync(Ct).Within())
        {
            Assert.Equal(new byte[] { 1, 2, 3 }, got!.ToArray());
        }
        await peer.SendAsync(new byte[] { 9 }, Ct);
        using (PipeMessage? reply = await client.ReceiveAsync(Ct).Within())
        {
            Assert.Equal(new byte[] { 9 }, reply!.ToArray());
        }

        client.Dispose();
        Assert.Equal(PipeClientState.Closed, client.State);
        Assert.Null(client.Connection);
        lock (changes)
        {
            Assert.Equal(PipeClientState.Connected, changes[^1].Previous);
            Assert.Equal(PipeClientState.Closed, changes[^1].Current);
        }
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.SendAsync(new byte[] { 1 }, Ct).AsTask());
        Assert.Null(await peer.ReceiveAsync(Ct).Within()); // the connection was closed cleanly
        client.Dispose(); // a second dispose is a no-op
    }

    [Fact]
    public async Task Client_receive_returns_null_when_the_server_closes_cleanly()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task<PipeConnection> accepting = server.AcceptAsync(Ct).AsTask();
        await using var client = new PipeClient(name, new PipeClientOptions { Connection = TestPipes.Options(), AutoReconnect = false });
        await client.ConnectAsync(Ct).Within();
        PipeConnection peer = await accepting.Within();
        await peer.DisposeAsync();
        Assert.Null(await client.ReceiveAsync(Ct).Within());
        Assert.Equal(PipeClientState.Disconnected, client.State);
    }

    [Fact]
    public async Task Reflection_json_request_uses_the_given_serializer_options()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        // The server answers in the request's own naming: camelCase (web defaults) or PascalCase (reflection defaults).
        Task running = server.ServeRequestsAsync((PipeMessage request, CancellationToken _) =>
        {
            using JsonDocument doc = JsonDocument.Parse(request.Payload);
            bool camel = doc.RootElement.TryGetProperty("id", out JsonElement id);
            int orderId = (camel ? id : doc.RootElement.GetProperty("Id")).GetInt32();
            string json = camel ? $"{{\"orderId\":{orderId},\"total\":3.5,\"accepted\":true}}" : $"{{\"OrderId\":{orderId},\"Total\":1.5,\"Accepted\":false}}";
            return ValueTask.FromResult<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(json));
        }, Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        var order = new Order(7, "widget", 12.50m, ["a"]);

        Assert.Equal(new Receipt(7, 3.5m, true), await client.RequestAsync<Order, Receipt>(order, new JsonSerializerOptions(JsonSerializerDefaults.Web), Ct).Within());
        Assert.Equal(new Receipt(8, 1.5m, false), await client.RequestAsync<Order, Receipt>(order with { Id = 8 }, Ct).Within());

        await server.StopAsync(TimeSpan.Zero, Ct);
        await running.Within();
    }
    [Fact]
    public async Task Byte_requests_without_and_with_a_timeout()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task<PipeConnection> accepting = server.AcceptAsync(Ct).AsTask();
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct).Within();
        await using PipeConnection peer = await accepting.Within();

        // The sync overload without a timeout: the reply to the bytes sent is the next frame.
        Task<byte[]> sync = Task.Run(() =>
        {
            using PipeMessage reply = client.Request(new byte[] { 1, 2 });
            return reply.ToArray();
        }, Ct);
        using (PipeMessage? asked = await peer.ReceiveAsync(Ct).Within())
        {
            Assert.Equal(new byte[] { 1, 2 }, asked!.ToArray());
        }
        await peer.SendAsync(new byte[] { 9 }, Ct);
        await peer.FlushAsync(Ct);
        Assert.Equal(new byte[] { 9 }, await sync.Within());

        // The async overload with a timeout, answered in time.
        ValueTask<PipeMessage> answered = client.RequestAsync(new byte[] { 3 }, TimeSpan.FromSeconds(30), Ct);
        using (PipeMessage? asked = await peer.ReceiveAsync(Ct).Within())
        {
            Assert.Equal(new byte[] { 3 }, asked!.ToArray());
        }
        await peer.SendAsync(new byte[] { 7, 7 }, Ct);
        await peer.FlushAsync(Ct);
        using (PipeMessage reply = await answered.AsTask().Within())
        {
            Assert.Equal(new byte[] { 7, 7 }, reply.ToArray());
        }

        // Not answered: TimeoutException, and the request had been written, so the connection is closed.
        await Assert.ThrowsAsync<TimeoutException>(
            () => client.RequestAsync(new byte[] { 4 }, TimeSpan.FromMilliseconds(200), Ct).AsTask().Within());
        Assert.False(client.IsConnected);
    }
}
