using System;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>One message each way (npipes' API), and request/response with several clients on one server, both ways round.</summary>
internal static class MessageChecks
{
    /// <summary>Not ASCII, so the strict UTF-8 path runs on Mono too.</summary>
    private const string Text = "héllo ☃ from Mono";

    /// <summary>Peer processes at once (each a .NET or Python start-up on a 2-core machine).</summary>
    private const int Clients = 4;

    /// <summary>Connections of this process at once, and the requests each makes.</summary>
    private const int Connections = 16;
    private const int RequestsPerClient = 25;

    public static async Task RunAsync(CheckRunner runner, Peer peer)
    {
        await runner.CheckAsync($"{peer.Label}: Ipc.SendMessage on Mono, `npipes receive` gets it (UTF-8, CRC)", async ct =>
        {
            string name = Names.New();
            using PeerProcess receiver = PeerProcess.Start(peer.Cli("receive", name, "--crc", "--encoding", "utf-8", "--timeout", "30"));
            await new Ipc(name, Options.Utf8Crc).SendMessageAsync(Text, crc: true, ct).ConfigureAwait(false);
            Expect.Equal(Text + "\n", await receiver.SucceedAsync(ct).ConfigureAwait(false), "what `npipes receive` printed");
        }).ConfigureAwait(false);

        await runner.CheckAsync($"{peer.Label}: `npipes send`, Ipc.ReceiveMessage on Mono gets it (UTF-8, CRC)", async ct =>
        {
            string name = Names.New();
            using PeerProcess sender = PeerProcess.Start(peer.Cli("send", name, Text, "--crc", "--encoding", "utf-8", "--timeout", "30"));
            string received = await new Ipc(name, Options.Utf8Crc).ReceiveMessageAsync(crc: true, ct).ConfigureAwait(false);
            Expect.Equal(Text, received, "what Ipc.ReceiveMessage returned");
            await sender.SucceedAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync($"{peer.Label}: a PipeServer on Mono answers {Clients} `npipes request` clients at once", async ct =>
        {
            string name = Names.New();
            int served = 0;
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options.Utf8Crc });
            Task serving = server.ServeRequestsAsync((request, _) =>
            {
                Interlocked.Increment(ref served);
                return new ValueTask<string>("mono: " + request.ToUpperInvariant());
            }, ct);
            PeerProcess[] clients = Enumerable.Range(0, Clients)
                .Select(i => PeerProcess.Start(peer.Cli("request", name, $"client {i} ☃", "--crc", "--encoding", "utf-8", "--timeout", "30")))
                .ToArray();
            try
            {
                for (int i = 0; i < Clients; i++)
                {
                    Expect.Equal($"mono: CLIENT {i} ☃\n", await clients[i].SucceedAsync(ct).ConfigureAwait(false), $"client {i}'s reply");
                }
            }
            finally
            {
                Array.ForEach(clients, c => c.Dispose());
            }
            Expect.Equal(Clients, Volatile.Read(ref served), "requests the server handled");
            await server.StopAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            await Stopped(serving).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync($"{peer.Label}: `npipes echo` serves {Connections} PipeConnections on Mono at once, {RequestsPerClient} requests each", async ct =>
        {
            string name = Names.New();
            using PeerProcess echo = PeerProcess.Start(peer.Cli("echo", name, "--crc", "--encoding", "utf-8"));
            async Task ClientAsync(int client)
            {
                // ConnectAsync waits (within the timeout) for the server to appear: no need to watch for its "serving" line.
                await using PipeConnection connection = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false);
                for (int i = 0; i < RequestsPerClient; i++)
                {
                    string request = $"client {client} request {i} ☃ " + new string('x', i * 97);
                    Expect.Equal(request, await connection.RequestAsync(request, ct).ConfigureAwait(false), "the echo");
                }
            }
            await Task.WhenAll(Enumerable.Range(0, Connections).Select(ClientAsync)).ConfigureAwait(false);
            Expect.Equal(0, await echo.TerminateAsync(ct).ConfigureAwait(false), "`npipes echo`'s exit code on SIGTERM");
        }).ConfigureAwait(false);
    }

    /// <summary>Awaits a server's serving task, which ends with cancellation or normally once the server stops.</summary>
    public static async Task Stopped(Task serving)
    {
        try
        {
            await serving.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>Pipe names and options the checks share.</summary>
internal static class Names
{
    public static string New() => "npipes-mono-" + Guid.NewGuid().ToString("N").Substring(0, 12);
}

internal static class Options
{
    /// <summary>UTF-8 without CRC, a 30 s bound on every operation.</summary>
    public static readonly NPipesOptions Utf8 = new()
    {
        Timeout = TimeSpan.FromSeconds(30),
        Frame = new FrameOptions { Encoding = Encoding.UTF8 },
    };

    /// <summary>UTF-8 and CRC, a 30 s bound on every operation (the check's token ends it sooner if need be).</summary>
    public static readonly NPipesOptions Utf8Crc = new()
    {
        Timeout = TimeSpan.FromSeconds(30),
        Frame = new FrameOptions { Crc = true, Encoding = Encoding.UTF8 },
    };
}
