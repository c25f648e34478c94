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
        if (other is null)
        {
            const string Why = "needs root to run a peer as another account (the lane makes one with useradd)";
            runner.Skip(clientRefused, Why);
            runner.Skip(serverRefused, Why);
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
    }
}
