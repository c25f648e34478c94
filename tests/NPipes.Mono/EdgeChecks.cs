using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>
/// What differs most between runtimes, on Mono's own Socket, Timer and thread pool: timeouts, cancellation, a peer that
/// dies mid-frame or sends a frame the receiver refuses, and the Unix endpoint rules (stale, live and planted names).
/// The peers are Python's (its CLI, or a raw socket where a broken peer is needed).
/// </summary>
internal static class EdgeChecks
{
    private static readonly NPipesOptions Short = new() { Timeout = TimeSpan.FromSeconds(1), Frame = new FrameOptions { Crc = true } };

    /// <summary>A raw client: connects to argv[1], sends a frame header declaring 100 bytes and 10 of them, exits.</summary>
    private const string DiesMidFrame =
        "import socket,struct,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ns.sendall(struct.pack('>II',108,100)+b'x'*10)\ns.close()\nprint('sent')";

    public static async Task RunAsync(CheckRunner runner, Peer python, LaneSettings settings)
    {
        await runner.CheckAsync("Mono: a connect to a name nobody serves ends in TimeoutException at NPipesOptions.Timeout", async ct =>
        {
            await Expect.ThrowsAsync<TimeoutException>(async () => await PipeConnection.ConnectAsync(Names.New(), Short, ct).ConfigureAwait(false), "connect").ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a ConnectAsync waiting for a server ends in OperationCanceledException when cancelled", async ct =>
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cancel.CancelAfter(TimeSpan.FromMilliseconds(300));
            await Expect.ThrowsAsync<OperationCanceledException>(async () => await PipeConnection.ConnectAsync(Names.New(), Options.Utf8Crc, cancel.Token).ConfigureAwait(false), "connect").ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a cancelled AcceptAsync, then the next client is accepted and answered", async ct =>
        {
            string name = Names.New();
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options.Utf8Crc });
            using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                cancel.CancelAfter(TimeSpan.FromMilliseconds(300));
                await Expect.ThrowsAsync<OperationCanceledException>(async () => await server.AcceptAsync(cancel.Token).ConfigureAwait(false), "accept").ConfigureAwait(false);
            }
            using PeerProcess client = PeerProcess.Start(python.Cli("request", name, "after a cancelled accept", "--crc", "--timeout", "30"));
            await using PipeConnection connection = await server.AcceptAsync(ct).ConfigureAwait(false);
            string? request = await connection.ReceiveTextAsync(ct).ConfigureAwait(false);
            await connection.SendAsync("answer: " + request, ct).ConfigureAwait(false);
            Expect.Equal("answer: after a cancelled accept\n", await client.SucceedAsync(ct).ConfigureAwait(false), "the client's reply");
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a client that dies mid-frame gives IncompleteFrameException", async ct =>
        {
            string name = Names.New();
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options.Utf8Crc });
            using PeerProcess client = PeerProcess.Start(new Command(settings.Python, ["-c", DiesMidFrame, PipeNames.GetPath(name)], new System.Collections.Generic.Dictionary<string, string>()));
            await using PipeConnection connection = await server.AcceptAsync(ct).ConfigureAwait(false);
            IncompleteFrameException e = await Expect.ThrowsAsync<IncompleteFrameException>(async () => await connection.ReceiveAsync(ct).ConfigureAwait(false), "receive").ConfigureAwait(false);
            Expect.Equal(112L, e.Expected, "the frame's length (8 + 100 + 4)");
            Expect.Equal(18L, e.Received, "the bytes that arrived");
            await client.SucceedAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: `npipes send` without --crc to a receiver with CRC gives CrcMismatchException", async ct =>
        {
            string name = Names.New();
            using PeerProcess sender = PeerProcess.Start(python.Cli("send", name, "no crc", "--timeout", "30"));
            await Expect.ThrowsAsync<CrcMismatchException>(async () => await new Ipc(name, Options.Utf8Crc).ReceiveMessageAsync(crc: true, ct).ConfigureAwait(false), "receive").ConfigureAwait(false);
            await sender.ExitAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a live server's name is refused with PipeNameInUseException; a killed server's socket is reclaimed", async ct =>
        {
            string name = Names.New();
            using (PeerProcess echo = PeerProcess.Start(python.Cli("echo", name)))
            {
                await using (PipeConnection probe = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false))
                {
                    // connected: the echo server is listening
                }
                await Expect.ThrowsAsync<PipeNameInUseException>(() => Task.FromResult(PipeServer.Listen(name)), "a second server").ConfigureAwait(false);
            } // killed (SIGKILL): its socket file stays behind
            Expect.That(File.Exists(PipeNames.GetPath(name)), "the killed server's socket file is still there");
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options.Utf8Crc });
            Task serving = server.ServeRequestsAsync((r, _) => new ValueTask<string>(r), ct);
            await using (PipeConnection own = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false))
            {
                Expect.Equal("reclaimed", await own.RequestAsync("reclaimed", ct).ConfigureAwait(false), "the reply on the reclaimed name");
            }
            await server.DisposeAsync().ConfigureAwait(false);
            Expect.That(!File.Exists(PipeNames.GetPath(name)), "the disposed server removed its socket file");
            await MessageChecks.Stopped(serving).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a regular file planted at the path gives PipePathOccupiedException and is left alone", async ct =>
        {
            string name = Names.New();
            string path = PipeNames.GetPath(name);
            File.WriteAllText(path, "planted");
            try
            {
                await Expect.ThrowsAsync<PipePathOccupiedException>(() => Task.FromResult(PipeServer.Listen(name)), "a server").ConfigureAwait(false);
                await Expect.ThrowsAsync<PipePathOccupiedException>(async () => await PipeConnection.ConnectAsync(name, Short, ct).ConfigureAwait(false), "a client").ConfigureAwait(false);
                Expect.Equal("planted", File.ReadAllText(path), "the planted file");
            }
            finally
            {
                File.Delete(path);
            }
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a silent client is closed at PipeServerOptions.IdleTimeout", async ct =>
        {
            string name = Names.New();
            var closed = new TaskCompletionSource<DisconnectReason>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options.Utf8Crc, IdleTimeout = TimeSpan.FromMilliseconds(500) });
            Task serving = server.RunAsync(async (connection, token) =>
            {
                try
                {
                    await connection.ReceiveAsync(token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                }
                closed.TrySetResult(connection.DisconnectReason);
            }, ct);
            await using PipeConnection silent = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false);
            Expect.Equal(null, await silent.ReceiveAsync(ct).ConfigureAwait(false), "what the silent client receives");
            Expect.Equal(DisconnectReason.IdleTimeout, await closed.Task.ConfigureAwait(false), "why the server closed it");
            await server.StopAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            await MessageChecks.Stopped(serving).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: Ipc with no one on the other side ends in TimeoutException and leaves no socket file", async ct =>
        {
            string name = Names.New();
            await Expect.ThrowsAsync<TimeoutException>(async () => await new Ipc(name, Short).ReceiveMessageAsync(crc: true, ct).ConfigureAwait(false), "a receiver alone").ConfigureAwait(false);
            Expect.That(!File.Exists(PipeNames.GetPath(name)), "the receiver removed the socket it created");
            await Expect.ThrowsAsync<TimeoutException>(async () => await new Ipc(name, Short).SendMessageAsync("nobody", crc: true, ct).ConfigureAwait(false), "a sender alone").ConfigureAwait(false);
            Expect.That(!File.Exists(PipeNames.GetPath(name)), "the sender removed the socket it created");
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: 20 Ipc pairs in one process, sender and receiver started together", async ct =>
        {
            for (int i = 0; i < 20; i++)
            {
                string name = Names.New();
                string text = "pair " + i;
                Task<string> receiving = Task.Run(() => new Ipc(name, Options.Utf8Crc).ReceiveMessageAsync(crc: true, ct), ct);
                Task sending = Task.Run(() => new Ipc(name, Options.Utf8Crc).SendMessageAsync(text, crc: true, ct), ct);
                await sending.ConfigureAwait(false);
                Expect.Equal(text, await receiving.ConfigureAwait(false), "what the receiver got");
            }
        }).ConfigureAwait(false);
    }
}
