using System.Security.Cryptography;

namespace NPipes.Tests.Messaging;

/// <summary>
/// 1 MiB and 24 MiB messages, CRC on, one way, arrive byte for byte, in both builds of the library (H.Pipes' bug was
/// large messages arriving cut or mixed up; the frame's lengths and CRC-32 must come through whole).
/// </summary>
public class LargeCrcMessageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const long Limit = 32 * 1024 * 1024;

    [Fact]
    public async Task One_and_twenty_four_MiB_arrive_byte_for_byte_with_crc()
    {
        string name = TestPipes.NewName();
        int[] sizes = [1024 * 1024, 24 * 1024 * 1024];
        byte[][] payloads = [.. sizes.Select(RandomNumberGenerator.GetBytes)];
        NPipesOptions options = Servers.Crc(Limit);
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = options });
        Task<PipeConnection> accepted = server.AcceptAsync(Ct).AsTask();
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, options, Ct);
        await using PipeConnection peer = await accepted.Within();

        Task sending = Task.Run(async () =>
        {
            foreach (byte[] payload in payloads)
            {
                await client.SendAsync(payload, Ct);
            }
            await client.FlushAsync(Ct);
        }, Ct);
        foreach (byte[] payload in payloads)
        {
            using PipeMessage? message = await peer.ReceiveAsync(Ct).AsTask().Within();
            Assert.NotNull(message);
            Assert.Equal(payload.Length, message.Length);
            Assert.True(payload.AsSpan().SequenceEqual(message.Payload.Span), $"the {payload.Length}-byte payload arrived changed");
            Assert.Equal(FrameCodec.ComputeCrc(payload), message.Crc);
        }
        await sending.Within();
    }
}
