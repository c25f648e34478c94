using System;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>PipeClient's reconnection on Mono's timers: its server is killed and another takes the name.</summary>
internal static class ReconnectCheck
{
    public static Task RunAsync(CheckRunner runner, Peer python) =>
        runner.CheckAsync("Mono: a PipeClient reconnects when its server is killed and another starts on the name", async ct =>
        {
            string name = Names.New();
            var options = new PipeClientOptions { Connection = Options.Utf8Crc, InitialReconnectDelay = TimeSpan.FromMilliseconds(50) };
            await using var client = new PipeClient(name, options);
            using (PeerProcess first = PeerProcess.Start(python.Cli("echo", name, "--crc", "--encoding", "utf-8")))
            {
                await client.ConnectAsync(ct).ConfigureAwait(false);
                Expect.Equal("first ☃", await client.RequestAsync("first ☃", ct).ConfigureAwait(false), "the first server's echo");
            } // SIGKILL
            using PeerProcess second = PeerProcess.Start(python.Cli("echo", name, "--crc", "--encoding", "utf-8"));
            string reply;
            try
            {
                reply = await client.RequestAsync("second ☃", ct).ConfigureAwait(false);
            }
            catch (ConnectionClosedException)
            {
                // The contract: the client learns of the loss through an operation, which fails; the next one reconnects.
                reply = await client.RequestAsync("second ☃", ct).ConfigureAwait(false);
            }
            Expect.Equal("second ☃", reply, "the second server's echo");
            Expect.Equal(PipeClientState.Connected, client.State, "the client's state");
            await second.TerminateAsync(ct).ConfigureAwait(false);
        });
}
