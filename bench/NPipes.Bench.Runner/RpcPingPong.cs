using System.Diagnostics;
using System.IO.Pipes;
using StreamJsonRpc;

namespace NPipes.Bench;

/// <summary>
/// The <c>rpc_pingpong</c> figure: sequential JSON-RPC round trips per second, NPipes.JsonRpc (one message per npipes
/// frame, CRC on, <see cref="PipeServer.ServeJsonRpcAsync(PipeServer, Func{PipeConnection, object}, CancellationToken)"/>
/// in the peer) next to StreamJsonRpc over the raw .NET pipe stream with its default
/// <see cref="HeaderDelimitedMessageHandler"/>, both with the System.Text.Json formatter and the same target.
/// </summary>
public static partial class BenchRunner
{
    private sealed partial class Runner
    {
        private async Task RpcPingPongAsync()
        {
            string rawName = NewName("rpr"), npName = NewName("rpn");
            await using Peer rawPeer = await Peer.StartAsync(options, ct, "rpc-raw", rawName);
            await using Peer npPeer = await Peer.StartAsync(options, ct, "rpc-np", npName, "crc");
            await using var rawStream = new NamedPipeClientStream(".", rawName, PipeDirection.InOut, PipeOptions.Asynchronous);
            await rawStream.ConnectAsync(30_000, ct);
            using var raw = new JsonRpc(new HeaderDelimitedMessageHandler(rawStream, rawStream, new SystemTextJsonFormatter()));
            raw.StartListening();
            PipeConnection connection = await PipeConnection.ConnectAsync(npName, PeerRoles.Options(crc: true), ct);
            using JsonRpc np = connection.AttachJsonRpc();
            var rawPinger = new RpcPinger(raw);
            var npPinger = new RpcPinger(np);
            await CompareAsync("rpc_pingpong", new Side(npPinger.RunAsync, npPeer), new Side(rawPinger.RunAsync, rawPeer), "roundtrips/s",
                RpcWarmUpSeconds, " raw=StreamJsonRpc_HeaderDelimited_over_pipe_stream npipes_crc=on");
        }

        /// <summary>Warm-up of each side of an rpc figure: longer than the frame ping-pong's, as a call path is much more code to tier up.</summary>
        public double RpcWarmUpSeconds => Math.Max(2.0, 2 * options.Seconds);

        /// <summary>
        /// NPipes.JsonRpc's side of an rpc figure added by another project (the gRPC baseline): a peer serving <c>ping</c>
        /// and a connected <see cref="JsonRpc"/>, called as in <c>rpc_pingpong</c>. Dispose both (the JsonRpc first).
        /// </summary>
        public async Task<(Side Side, JsonRpc Rpc, Peer Peer)> StartNPipesRpcAsync()
        {
            Peer peer = await Peer.StartAsync(options, ct, "rpc-np", NewName("rpn"), "crc");
            try
            {
                PipeConnection connection = await PipeConnection.ConnectAsync(peer.Arguments[1], PeerRoles.Options(crc: true), ct);
                JsonRpc rpc = connection.AttachJsonRpc();
                return (new Side(new RpcPinger(rpc).RunAsync, peer), rpc, peer);
            }
            catch
            {
                await peer.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Calls <c>ping(sequence)</c> over JSON-RPC one after another and checks every reply.</summary>
    private sealed class RpcPinger(JsonRpc rpc)
    {
        private readonly SequentialPinger _pinger = new(sequence => rpc.InvokeAsync<int>("ping", sequence));

        public Task<double> RunAsync(double seconds) => _pinger.RunAsync(seconds);
    }

    /// <summary>Makes one call after another, each <c>ping(sequence)</c> whose reply must be the sequence number; returns calls per second.</summary>
    internal sealed class SequentialPinger(Func<int, Task<int>> ping)
    {
        private int _sequence;

        public async Task<double> RunAsync(double seconds)
        {
            long n = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                for (int i = 0; i < 16; i++, n++)
                {
                    int sequence = ++_sequence;
                    int reply = await ping(sequence);
                    if (reply != sequence)
                    {
                        throw new InvalidDataException($"ping {sequence}: wrong reply {reply}");
                    }
                }
            }
            return n / clock.Elapsed.TotalSeconds;
        }
    }
}

/// <summary>The peer side of <c>rpc_pingpong</c>.</summary>
internal static class RpcPeers
{
    /// <summary>The target both servers serve.</summary>
    private sealed class PingTarget
    {
        [JsonRpcMethod("ping")]
        public int Ping(int sequence) => sequence;
    }

    /// <summary>StreamJsonRpc on a raw pipe stream, default header-delimited framing.</summary>
    public static async Task RawAsync(string name)
    {
        await using var server = new NamedPipeServerStream(name, PipeDirection.InOut, 1, PipeTransmissionMode.Byte, PipeOptions.Asynchronous);
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        await server.WaitForConnectionAsync();
        using var rpc = new JsonRpc(new HeaderDelimitedMessageHandler(server, server, new SystemTextJsonFormatter()), new PingTarget());
        rpc.StartListening();
        await rpc.Completion.ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    /// <summary>NPipes.JsonRpc: a PipeServer serving the target per connection.</summary>
    public static async Task NPipesAsync(string name, bool crc)
    {
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = PeerRoles.Options(crc), DrainTimeout = TimeSpan.Zero });
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        await server.ServeJsonRpcAsync(_ => new PingTarget());
    }
}
