namespace NPipes.Tests.Messaging;

/// <summary>Many clients, many round trips, CRC on: nothing lost, duplicated, reordered or corrupted.</summary>
public class ServerStressTests
{
    private const int Clients = 32;
    private const int RoundTrips = 1000;
    private const int Window = 4; // requests each client keeps in flight (pipelining)

    /// <summary>Mostly small payloads, some medium, one 1 MiB per client in every eighth client: fast on 2 cores.</summary>
    private static int SizeOf(int client, int i) => i switch
    {
        500 when client % 8 == 0 => 1024 * 1024,
        _ when i % 100 == 0 => 32 * 1024,
        _ => (client * 7919 + i * 104729) % 300, // 0..299 bytes, including 0
    };

    /// <summary>Distinct content per (client, request), so a reply for anyone else's request cannot pass the check.</summary>
    private static byte[] PayloadOf(int client, int i)
    {
        byte[] payload = new byte[SizeOf(client, i)];
        new Random(client * 1_000_003 + i).NextBytes(payload);
        if (payload.Length >= 8)
        {
            BitConverter.TryWriteBytes(payload, client);
            BitConverter.TryWriteBytes(payload.AsSpan(4), i);
        }
        return payload;
    }

    [Fact]
    public async Task Thirty_two_clients_a_thousand_round_trips_each()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string name = TestPipes.NewName();
        var errors = new List<Exception>();
        (PipeServer server, Task running) = Servers.StartEcho(name);
        server.Error += (_, e) => { lock (errors) { errors.Add(e.Exception); } };
        long served = 0;
        await using (server)
        {
            Task[] clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                await using PipeConnection connection = await PipeConnection.ConnectAsync(name, Servers.Crc(), ct);
                for (int start = 0; start < RoundTrips; start += Window)
                {
                    var inFlight = new (byte[] Sent, Task<PipeMessage> Reply)[Window];
                    for (int k = 0; k < Window; k++)
                    {
                        byte[] sent = PayloadOf(c, start + k);
                        inFlight[k] = (sent, connection.RequestAsync(sent, ct).AsTask());
                    }
                    foreach ((byte[] sent, Task<PipeMessage> reply) in inFlight)
                    {
                        using PipeMessage message = await reply;
                        Assert.True(sent.AsSpan().SequenceEqual(message.Payload.Span), $"client {c}: a reply did not match its request");
                        Interlocked.Increment(ref served);
                    }
                }
            }, ct)).ToArray();
            await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60), ct);
        }
        await running.Within();
        Assert.Equal(Clients * RoundTrips, served);
        Assert.Empty(errors);
    }
}
