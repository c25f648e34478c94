using System;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>A 24 MiB CRC frame each way, with Mono as the server and as the client.</summary>
internal static class BigFrameChecks
{
    public static async Task RunAsync(CheckRunner runner, Peer peer)
    {
        await runner.CheckAsync($"{peer.Label}: a 24 MiB CRC frame from a client to a PipeServer on Mono and back", async ct =>
        {
            string name = Names.New();
            string? wrong = "no request arrived";
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = BigFrame.Options });
            Task serving = server.ServeRequestsAsync((PipeMessage request, CancellationToken _) =>
            {
                wrong = BigFrame.Difference(request.Payload.Span, BigFrame.Size);
                return new ValueTask<ReadOnlyMemory<byte>>(request.ToArray());
            }, ct);
            using PeerProcess client = PeerProcess.Start(peer.Big("request", name, BigFrame.Size.ToString()));
            Expect.Equal("ok\n", await client.SucceedAsync(ct).ConfigureAwait(false), "the client's verdict on the reply");
            Expect.Equal(null, wrong, "the request the server received");
            await server.StopAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            await MessageChecks.Stopped(serving).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync($"{peer.Label}: a 24 MiB CRC frame from a PipeConnection on Mono to a server and back", async ct =>
        {
            string name = Names.New();
            using PeerProcess server = PeerProcess.Start(peer.Big("serve", name, BigFrame.Size.ToString()));
            await using (PipeConnection connection = await PipeConnection.ConnectAsync(name, BigFrame.Options, ct).ConfigureAwait(false))
            {
                using PipeMessage reply = await connection.RequestAsync(BigFrame.Payload(BigFrame.Size), ct).ConfigureAwait(false);
                Expect.Equal(null, BigFrame.Difference(reply.Payload.Span, BigFrame.Size), "the reply");
            }
            Expect.Equal("ok\n", await server.SucceedAsync(ct).ConfigureAwait(false), "the server's verdict on the request");
        }).ConfigureAwait(false);
    }
}
