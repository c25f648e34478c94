using NPipes.Tests.Messaging;

namespace NPipes.Tests.Hostile;

/// <summary>
/// Load, CI-sized: 64 concurrent clients × 200 pipelined round trips with CRC on (tests/NPipes.Stress load runs
/// 64 × 10,000). Every reply matches its request, and on both sides the messages sent equal the messages received.
/// </summary>
[Collection(HostileCollection.Name)]
public class LoadTests
{
    private const int Clients = 64, RoundTrips = 200, Window = 4;

    [Fact]
    public async Task Sixty_four_clients_every_reply_matches_and_both_sides_count_the_same()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string name = TestPipes.NewName();
        long serverReceived = 0, serverSent = 0, clientSent = 0, clientReceived = 0;
        var errors = new List<Exception>();
        var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Servers.Crc() });
        server.Error += (_, e) => { lock (errors) { errors.Add(e.Exception); } };
        Task running = server.RunAsync(async (connection, stopping) =>
        {
            await EchoLoop.RunAsync(connection, stopping,
                () => Interlocked.Increment(ref serverReceived), () => Interlocked.Increment(ref serverSent));
        }, ct);
        await using (server)
        {
            await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                await using PipeConnection connection = await PipeConnection.ConnectAsync(name, Servers.Crc(), ct);
                var random = new Random(c);
                for (int start = 0; start < RoundTrips; start += Window)
                {
                    var inFlight = new (byte[] Sent, Task<PipeMessage> Reply)[Window];
                    for (int k = 0; k < Window; k++)
                    {
                        byte[] sent = new byte[8 + random.Next(256)];
                        random.NextBytes(sent);
                        BitConverter.TryWriteBytes(sent, c);
                        BitConverter.TryWriteBytes(sent.AsSpan(4), start + k);
                        inFlight[k] = (sent, connection.RequestAsync(sent, ct).AsTask());
                        Interlocked.Increment(ref clientSent);
                    }
                    foreach ((byte[] sent, Task<PipeMessage> reply) in inFlight)
                    {
                        using PipeMessage message = await reply;
                        Interlocked.Increment(ref clientReceived);
                        Assert.True(sent.AsSpan().SequenceEqual(message.Payload.Span), $"client {c}: a reply did not match its request");
                    }
                }
            }, ct))).WaitAsync(TimeSpan.FromSeconds(60), ct);
        }
        await running.Within();
        Assert.Empty(errors);
        Assert.Equal(Clients * RoundTrips, clientSent);
        Assert.Equal(clientSent, serverReceived);
        Assert.Equal(serverReceived, serverSent);
        Assert.Equal(serverSent, clientReceived);
    }
}
