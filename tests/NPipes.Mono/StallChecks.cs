using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>
/// A peer that stalls, on Mono, whose socket reads and writes ignore a CancellationToken once started (as .NET
/// Framework's do): every bound NPipes promises must still end the wait. The stalling peers are raw Python sockets.
/// </summary>
internal static class StallChecks
{
    /// <summary>Listens at argv[1], prints "listening", accepts one client, sends it argv[2] (hex) and stalls: reads
    /// nothing, closes nothing, until the check ends it. A bound that is not kept fails the check at its budget.</summary>
    private const string StallingServer =
        "import socket,sys,select\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen(1)\nprint('listening',flush=True)\n" +
        "c=s.accept()[0]\nc.sendall(bytes.fromhex(sys.argv[2]))\nselect.select([],[],[])";

    public static async Task RunAsync(CheckRunner runner, LaneSettings settings)
    {
        async Task<Staller> StallingAsync(string name, string send, CancellationToken ct)
        {
            var staller = new Staller(PipeNames.GetPath(name),
                PeerProcess.Start(new Command(settings.Python, ["-c", StallingServer, PipeNames.GetPath(name), send], new Dictionary<string, string>())));
            await staller.Process.WaitForAsync("listening", ct).ConfigureAwait(false);
            return staller;
        }

        await runner.CheckAsync("Mono: Ipc.SendMessage to a receiver that never reads or closes ends in TimeoutException", async ct =>
        {
            string name = Names.New();
            using Staller receiver = await StallingAsync(name, "", ct).ConfigureAwait(false);
            var options = new NPipesOptions { Timeout = TimeSpan.FromSeconds(1) };
            await Expect.ThrowsAsync<TimeoutException>(async () => await new Ipc(name, options).SendMessageAsync("never read", cancellationToken: ct).ConfigureAwait(false), "send").ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: an 8 MiB Ipc.SendMessage to a receiver that never reads ends in TimeoutException", async ct =>
        {
            string name = Names.New();
            using Staller receiver = await StallingAsync(name, "", ct).ConfigureAwait(false);
            var options = new NPipesOptions { Timeout = TimeSpan.FromSeconds(1) };
            await Expect.ThrowsAsync<TimeoutException>(async () => await new Ipc(name, options).SendMessageAsync(new string('x', 8 * 1024 * 1024), cancellationToken: ct).ConfigureAwait(false), "send").ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: Ipc.ReceiveMessage from a sender that stalls mid-frame ends in TimeoutException", async ct =>
        {
            string name = Names.New();
            using Staller sender = await StallingAsync(name, "0000006c00000064" + "78787878", ct).ConfigureAwait(false);
            var options = new NPipesOptions { Timeout = TimeSpan.FromSeconds(1) };
            await Expect.ThrowsAsync<TimeoutException>(async () => await new Ipc(name, options).ReceiveMessageAsync(cancellationToken: ct).ConfigureAwait(false), "receive").ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a ReceiveAsync waiting on a silent server ends in OperationCanceledException when cancelled", async ct =>
        {
            string name = Names.New();
            using Staller server = await StallingAsync(name, "", ct).ConfigureAwait(false);
            await using PipeConnection connection = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false);
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cancel.CancelAfter(TimeSpan.FromMilliseconds(300));
            await Expect.ThrowsAsync<OperationCanceledException>(async () => await connection.ReceiveAsync(cancel.Token).ConfigureAwait(false), "receive").ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a request to a server that never answers ends in TimeoutException (RequestAsync with a timeout)", async ct =>
        {
            string name = Names.New();
            using Staller server = await StallingAsync(name, "", ct).ConfigureAwait(false);
            await using PipeConnection connection = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false);
            await Expect.ThrowsAsync<TimeoutException>(async () => await connection.RequestAsync("anyone?", TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false), "request").ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: PipeServer.StopAsync ends with a client connected and silent", async ct =>
        {
            string name = Names.New();
            var server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options.Utf8Crc });
            var handling = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task serving = server.RunAsync(async (connection, token) =>
            {
                handling.TrySetResult(true);
                await connection.ReceiveAsync(token).ConfigureAwait(false);
            }, ct);
            await using PipeConnection silent = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false);
            await handling.Task.ConfigureAwait(false);
            await server.StopAsync(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
            await MessageChecks.Stopped(serving).ConfigureAwait(false);
            Expect.Equal(null, await silent.ReceiveAsync(ct).ConfigureAwait(false), "what the client receives after the stop");
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: a client that never reads is closed at PipeServerOptions.WriteTimeout", async ct =>
        {
            string name = Names.New();
            var options = new PipeServerOptions { Connection = Options.Utf8Crc, WriteTimeout = TimeSpan.FromMilliseconds(500) };
            var closed = new TaskCompletionSource<DisconnectReason>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using PipeServer server = PipeServer.Listen(name, options);
            Task serving = server.RunAsync(async (connection, token) =>
            {
                byte[] chunk = new byte[1024 * 1024];
                try
                {
                    for (int i = 0; i < 64; i++) // 64 MiB: far beyond what the socket buffers hold
                    {
                        await connection.SendAsync(chunk, token).ConfigureAwait(false);
                    }
                    await connection.FlushAsync(token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                }
                closed.TrySetResult(connection.DisconnectReason);
            }, ct);
            await using PipeConnection reader = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false);
            Expect.Equal(DisconnectReason.WriteTimeout, await closed.Task.ConfigureAwait(false), "why the server closed the connection");
            await server.StopAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            await MessageChecks.Stopped(serving).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>The stalling peer, ended (SIGKILL) and its socket file removed when the check is done.</summary>
    private sealed class Staller(string path, PeerProcess process) : IDisposable
    {
        public PeerProcess Process { get; } = process;

        public void Dispose()
        {
            Process.Dispose();
            File.Delete(path);
        }
    }
}
