using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NPipes.Bench.GrpcPing;

namespace NPipes.Bench;

/// <summary>
/// The figure <c>rpc_grpc_pingpong</c>: NPipes.JsonRpc's sequential round trips (as in <c>rpc_pingpong</c>) next to
/// gRPC unary calls over a Unix domain socket, the local IPC that learn.microsoft.com's "Inter-process communication
/// with gRPC" recommends: Kestrel listening on the socket (HTTP/2) in the peer, Grpc.Net.Client with a
/// <see cref="SocketsHttpHandler.ConnectCallback"/> to it here. Alternating windows, CPU of both processes per call.
/// </summary>
public static class GrpcFigure
{
    /// <summary>The figure's name.</summary>
    public const string Name = "rpc_grpc_pingpong";

    private const string Role = "rpc-grpc";

    /// <summary>Adds the figure and its peer role to the runner: call it first thing in the program (as runner and as peer).</summary>
    public static void Register()
    {
        BenchRunner.AddFigure(Name, RunAsync);
        PeerRoles.Add(Role, ServeAsync);
    }

    private static async Task RunAsync(IFigureHost runner)
    {
        // The socket goes in a fresh private directory (0700), so no one else can take or reach the name.
        DirectoryInfo directory = Directory.CreateTempSubdirectory("npb_grpc_");
        try
        {
            string socketPath = Path.Combine(directory.FullName, "s");
            await using Peer grpcPeer = await Peer.StartAsync(runner.Options, runner.Cancellation, Role, socketPath);
            (BenchRunner.Side npipes, StreamJsonRpc.JsonRpc rpc, Peer npPeer) = await runner.StartNPipesRpcAsync();
            await using (npPeer)
            using (rpc)
            {
                using var handler = new SocketsHttpHandler { ConnectCallback = (_, token) => ConnectAsync(socketPath, token) };
                using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
                var client = new Pinger.PingerClient(channel);
                var pinger = new BenchRunner.SequentialPinger(async sequence => (await client.PingAsync(new PingRequest { Sequence = sequence })).Sequence);
                await runner.CompareAsync(Name, npipes, new BenchRunner.Side(pinger.RunAsync, grpcPeer), "roundtrips/s", runner.RpcWarmUpSeconds,
                    " raw_is=grpc_unary_unix_socket npipes_is=NPipes.JsonRpc_crc_on");
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The connection the documentation's example makes: a Unix domain socket wrapped in a <see cref="NetworkStream"/>.</summary>
    private static async ValueTask<Stream> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The peer: Kestrel on the Unix socket, HTTP/2 only, serving <see cref="PingService"/>, no logging.</summary>
    private static async Task ServeAsync(string socketPath)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(socketPath, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        await using WebApplication app = builder.Build();
        app.MapGrpcService<PingService>();
        await app.StartAsync();
        PeerRoles.Ready();
        await Task.Delay(Timeout.Infinite); // until the runner closes our stdin (PeerRoles ends the process)
    }

    private sealed class PingService : Pinger.PingerBase
    {
        public override Task<PingReply> Ping(PingRequest request, ServerCallContext context) =>
            Task.FromResult(new PingReply { Sequence = request.Sequence });
    }
}
