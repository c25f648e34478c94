using System;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>The JSON helpers on Mono (System.Text.Json's netstandard2.0 build, reflection-based metadata), with Python peers.</summary>
internal static class JsonChecks
{
    public static async Task RunAsync(CheckRunner runner, Peer python)
    {
        await runner.CheckAsync("Mono: ServeRequestsAsync<TRequest, TReply> (JSON) answers `npipes request`", async ct =>
        {
            string name = Names.New();
            var point = (JsonTypeInfo<Point>)JsonSerializerOptions.Default.GetTypeInfo(typeof(Point)); // reflection-based metadata
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options.Utf8Crc });
            Task serving = server.ServeRequestsAsync<Point, Point>(
                (p, _) => new ValueTask<Point>(new Point { X = (p?.X ?? 0) * 2, Label = p?.Label + "!" }), point, point, ct);
            using (PeerProcess client = PeerProcess.Start(python.Cli("request", name, "{\"X\":21,\"Label\":\"☃\"}", "--crc", "--encoding", "utf-8", "--timeout", "30")))
            {
                Expect.Equal("{\"X\":42,\"Label\":\"\\u2603!\"}\n", await client.SucceedAsync(ct).ConfigureAwait(false), "the reply `npipes request` printed");
            }
            await server.StopAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            await MessageChecks.Stopped(serving).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: RequestAsync<TRequest, TReply> (JSON) of `npipes echo`", async ct =>
        {
            string name = Names.New();
            using PeerProcess echo = PeerProcess.Start(python.Cli("echo", name, "--encoding", "utf-8"));
            await using (PipeConnection connection = await PipeConnection.ConnectAsync(name, Options.Utf8, ct).ConfigureAwait(false))
            {
                var sent = new Point { X = 3, Label = "ünïcode ☃" };
                Point? back = await connection.RequestAsync<Point, Point>(sent, options: null, ct).ConfigureAwait(false);
                Expect.Equal("3 ünïcode ☃", back is null ? "null" : $"{back.X} {back.Label}", "the echoed point");
            }
            await echo.TerminateAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>A plain class with properties, as a Unity script would send.</summary>
    internal sealed class Point
    {
        public int X { get; set; }

        public string? Label { get; set; }
    }
}
