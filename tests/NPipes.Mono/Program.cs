using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>
/// Under Mono (the net48 build, loading the package's lib/netstandard2.0): runs every check against the peers the lane
/// names in <see cref="LaneSettings"/> and prints "mono: N passed, N failed, N skipped" (an argument: only the checks
/// whose name contains it). With "peer ROLE NAME SIZE" (the net10.0 build, under .NET): one side of a large-frame
/// exchange, as tests/NPipes.Mono/big_peer.py is for Python.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "peer")
        {
            return await PeerRoles.RunAsync(args).ConfigureAwait(false);
        }

        LaneSettings settings;
        try
        {
            settings = LaneSettings.FromEnvironment();
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine("mono-lane: " + e.Message);
            Console.WriteLine("mono: 0 passed, 1 failed, 0 skipped");
            return 1;
        }

        var runner = new CheckRunner(args.Length > 0 ? args[0] : null);
        try
        {
            await Runtime.CheckAsync(runner).ConfigureAwait(false);
            var peers = new List<Peer> { Peer.DotnetCli(settings), Peer.Python(settings) };
            foreach (Peer peer in peers)
            {
                await MessageChecks.RunAsync(runner, peer).ConfigureAwait(false);
                await BigFrameChecks.RunAsync(runner, peer).ConfigureAwait(false);
                await AccessChecks.RunAsync(runner, peer, settings.OtherUser).ConfigureAwait(false);
            }
            await EdgeChecks.RunAsync(runner, peers[1], settings).ConfigureAwait(false);
            await StallChecks.RunAsync(runner, settings).ConfigureAwait(false);
            await ReconnectCheck.RunAsync(runner, peers[1]).ConfigureAwait(false);
            await MainThreadChecks.RunAsync(runner, peers[1]).ConfigureAwait(false);
            await JsonChecks.RunAsync(runner, peers[1]).ConfigureAwait(false);
        }
        finally
        {
            PeerProcess.EndAll();
        }
        return runner.Summarize();
    }
}
