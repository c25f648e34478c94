using System.Text.Json;
using System.Text.Json.Serialization;

namespace NPipes.Tests.Messaging;

public sealed record Order(int Id, string Item, decimal Price, string[] Tags);

public sealed record Receipt(int OrderId, decimal Total, bool Accepted);

[JsonSerializable(typeof(Order))]
[JsonSerializable(typeof(Receipt))]
internal sealed partial class TestJsonContext : JsonSerializerContext;

/// <summary>Typed messages over System.Text.Json, source-generated and by reflection.</summary>
public class JsonTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Order Sample = new(7, "widget", 12.50m, ["red", "ünïcode ✓"]);

    [Fact]
    public async Task Source_generated_request_and_reply_round_trip()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Servers.Crc() });
        Task running = server.ServeRequestsAsync((request, _) =>
        {
            Order order = JsonSerializer.Deserialize(request.Payload.Span, TestJsonContext.Default.Order)!;
            var receipt = new Receipt(order.Id, order.Price * 2, order.Tags.Length == 2);
            return ValueTask.FromResult<ReadOnlyMemory<byte>>(JsonSerializer.SerializeToUtf8Bytes(receipt, TestJsonContext.Default.Receipt));
        }, Ct);

        // Strict ASCII is the connection's text encoding; JSON is UTF-8 bytes regardless, so non-ASCII text travels.
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
        Receipt? receipt = await client.RequestAsync(Sample, TestJsonContext.Default.Order, TestJsonContext.Default.Receipt, Ct);
        Assert.Equal(new Receipt(7, 25.00m, true), receipt);
        await server.StopAsync(TimeSpan.Zero, Ct);
        await running.Within();
    }

    [Fact]
    public async Task Typed_server_helper_answers_typed_requests()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task running = server.ServeRequestsAsync((Order? order, CancellationToken _) => ValueTask.FromResult(new Receipt(order!.Id, order.Price, true)),
            TestJsonContext.Default.Order, TestJsonContext.Default.Receipt, Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        for (int i = 0; i < 10; i++)
        {
            Receipt? receipt = await client.RequestAsync(Sample with { Id = i }, TestJsonContext.Default.Order, TestJsonContext.Default.Receipt, Ct);
            Assert.Equal(new Receipt(i, Sample.Price, true), receipt);
        }
        await server.StopAsync(TimeSpan.Zero, Ct);
        await running.Within();
    }

    [Fact]
    public async Task Send_and_receive_typed_messages_both_ways()
    {
        string name = TestPipes.NewName();
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task<PipeConnection> accepting = server.AcceptAsync(Ct).AsTask();
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await using PipeConnection peer = await accepting.Within();

        await client.SendAsync(Sample, TestJsonContext.Default.Order, Ct);
        Order? got = await peer.ReceiveAsync(TestJsonContext.Default.Order, Ct);
        Assert.Equal(Sample.Tags, got!.Tags);
        Assert.Equal(Sample with { Tags = got.Tags }, got);

        // Reflection overloads (the test project is not trimmed).
        await peer.SendAsync(new Receipt(1, 2m, true), Ct);
        Assert.Equal(new Receipt(1, 2m, true), await client.ReceiveAsync<Receipt>(Ct));

        // Malformed JSON is a JsonException and leaves the connection usable.
        await peer.SendAsync("{not json", Ct);
        await Assert.ThrowsAnyAsync<JsonException>(() => client.ReceiveAsync(TestJsonContext.Default.Receipt, Ct).AsTask());
        Assert.True(client.IsConnected);

        // A clean close before the next message is a typed error, not a default value.
        await peer.DisposeAsync();
        ConnectionClosedException closed = await Assert.ThrowsAsync<ConnectionClosedException>(() => client.ReceiveAsync(TestJsonContext.Default.Receipt, Ct).AsTask());
        Assert.Equal(DisconnectReason.PeerClosed, closed.Reason);
    }
}
