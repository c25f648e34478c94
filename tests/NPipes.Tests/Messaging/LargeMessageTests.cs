using System.Security.Cryptography;

namespace NPipes.Tests.Messaging;

/// <summary>Messages of several MiB arrive intact with CRC on, up to a raised limit.</summary>
public class LargeMessageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const long Limit = 64 * 1024 * 1024;

    [Fact]
    public async Task Several_MiB_round_trip_intact_with_crc()
    {
        string name = TestPipes.NewName();
        var options = new PipeServerOptions { Connection = Servers.Crc(Limit) };
        (PipeServer server, Task running) = Servers.StartEcho(name, options);
        await using (server)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(Limit), Ct);
            foreach (int size in new[] { 3 * 1024 * 1024 + 17, 24 * 1024 * 1024 })
            {
                byte[] payload = RandomNumberGenerator.GetBytes(size);
                using PipeMessage reply = await client.RequestAsync(payload, Ct).Within();
                Assert.Equal(size, reply.Length);
                Assert.True(payload.AsSpan().SequenceEqual(reply.Payload.Span));
                Assert.Equal(FrameCodec.ComputeCrc(payload), reply.Crc);
            }
        }
        await running.Within();
    }

    [Fact]
    public async Task A_frame_over_the_receivers_limit_closes_only_that_connection()
    {
        string name = TestPipes.NewName();
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new PipeServerOptions { Connection = Servers.Crc(1024 * 1024) };
        (PipeServer server, Task running) = Servers.StartEcho(name, options);
        server.Error += (_, e) => reported.TrySetResult(e.Exception);
        await using (server)
        {
            // The sender allows more than the server does: the server refuses from the length prefix, before allocating.
            await using PipeConnection big = await PipeConnection.ConnectAsync(name, Servers.Crc(Limit), Ct);
            await Assert.ThrowsAsync<ConnectionClosedException>(() => big.RequestAsync(new byte[2 * 1024 * 1024], Ct).AsTask().Within());
            Assert.IsType<FrameTooLargeException>(await reported.Task.Within());

            await using PipeConnection small = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
            Assert.Equal("fine", await small.RequestAsync("fine", Ct));
        }
        await running.Within();
    }
}
