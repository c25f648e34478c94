using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>
/// Current user only, by default, on Mono: a peer run by another account is refused on both sides. The account is made
/// by the lane (useradd) and given its own readable copy of the peers; without root these checks are skipped.
/// </summary>
internal static class AccessChecks
{
    public static async Task RunAsync(CheckRunner runner, Peer peer, OtherUser? other)
    {
        string clientRefused = $"{peer.Label}: `npipes echo` of another account: a PipeConnection on Mono refuses it before sending";
        string serverRefused = $"{peer.Label}: `npipes request` of another account: a PipeServer on Mono never sees it";
        string monoClientRefused = $"{peer.Label}: `npipes echo`: a PipeConnection on Mono run by another account is refused";
        string monoServerRefuses = $"{peer.Label}: a client with current-user-only off: a PipeServer on Mono run by another account drops it";
        if (other is null)
        {
            const string Why = "needs root to run a peer as another account (the lane makes one with useradd)";
            Array.ForEach([clientRefused, serverRefused, monoClientRefused, monoServerRefuses], name => runner.Skip(name, Why));
            return;
        }

        await runner.CheckAsync(clientRefused, async ct =>
        {
            string name = Names.New();
            using PeerProcess echo = PeerProcess.Start(peer.Cli("echo", name, "--crc", "--encoding", "utf-8").As(other));
            // Root may connect to any socket file: what refuses here is the client's check of the server's uid (SO_PEERCRED).
            // ConnectAsync waits for the socket to appear, then must refuse at once, without a retry.
            UnauthorizedAccessException refused = await Expect.ThrowsAsync<UnauthorizedAccessException>(
                async () => await (await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false),
                "connecting to another account's server").ConfigureAwait(false);
            Expect.That(refused.Message.Contains("uid " + other.Uid.ToString(CultureInfo.InvariantCulture)),
                $"the refusal names the server's uid {other.Uid}: '{refused.Message}'");
            Console.WriteLine("  the Mono client: " + refused.Message);
            await echo.TerminateAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync(serverRefused, async ct =>
        {
            string name = Names.New();
            int served = 0;
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options.Utf8Crc });
            Task serving = server.ServeRequestsAsync((request, _) =>
            {
                Interlocked.Increment(ref served);
                return new ValueTask<string>(request);
            }, ct);
            using (PeerProcess stranger = PeerProcess.Start(peer.Cli("request", name, "let me in", "--crc", "--encoding", "utf-8", "--timeout", "10").As(other)))
            {
                int code = await stranger.ExitAsync(ct).ConfigureAwait(false);
                Expect.That(code == 1, $"the other account's `npipes request` exits 1 (refused), not {code}: {stranger.Describe()}");
                Console.WriteLine("  the other account's client: " + stranger.Errors.Trim());
            }
            // Still serving this user.
            await using (PipeConnection own = await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false))
            {
                Expect.Equal("mine", await own.RequestAsync("mine", ct).ConfigureAwait(false), "this user's request");
            }
            Expect.Equal(1, Volatile.Read(ref served), "requests the server handled (this user's only)");
            await server.StopAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            await MessageChecks.Stopped(serving).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync(monoClientRefused, async ct =>
        {
            string name = Names.New();
            using PeerProcess echo = PeerProcess.Start(peer.Cli("echo", name, "--crc", "--encoding", "utf-8"));
            await using (await PipeConnection.ConnectAsync(name, Options.Utf8Crc, ct).ConfigureAwait(false))
            {
                // this user's connection: the server is up
            }
            // Not root: the socket's mode (0600) refuses the connect (EACCES), which Mono reports in its own SocketError.
            using PeerProcess stranger = PeerProcess.Start(other.MonoPeer("connect", name));
            int code = await stranger.ExitAsync(ct).ConfigureAwait(false);
            Expect.That(code == 3 && stranger.Output.Contains("belongs to another user"),
                $"Mono run by another account exits 3 with UnauthorizedAccessException ('belongs to another user'), not {code}: {stranger.Describe()}");
            Console.WriteLine("  the Mono client of another account: " + stranger.Output.Trim());
            await echo.TerminateAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync(monoServerRefuses, async ct =>
        {
            string name = Names.New();
            using PeerProcess server = PeerProcess.Start(other.MonoPeer("serve", name, "10"));
            // Root's connect passes the socket's mode; what refuses is the server's check of the client's uid (SO_PEERCRED).
            using (PeerProcess client = PeerProcess.Start(peer.Big("request", name, "10", "any-user")))
            {
                int code = await client.ExitAsync(ct).ConfigureAwait(false);
                Expect.That(code == 1 && client.Output.Contains("error ConnectionClosed"),
                    $"the client is closed unanswered (exit 1, 'error ConnectionClosed...'), not {code}: {client.Describe()}");
            }
            await server.WaitForAsync("log ConnectionRefused", ct).ConfigureAwait(false);
            Expect.That(server.Errors.Contains("uid 0)") || server.Errors.Contains("uid 0,"), $"the Mono server logs the refused peer's uid 0: {server.Describe()}");
            Console.WriteLine("  the Mono server of another account: " + server.Errors.Trim());
            await server.TerminateAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }
}
