using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// Doc §8, "either side first" on Unix, built from the same pieces as servers and clients: a socket at the path is
/// connected to (the peer rule applies; a refusing one goes through the one stale rule); a free path is claimed (doc
/// §4) and this side waits for one client, watching every 200 ms that its file is still the one it published, and
/// starting over if not. Anything that is not a socket fails at once.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixRendezvous
{
    /// <summary>How often a waiting rendezvous server checks that its file is still at the path.</summary>
    public static readonly TimeSpan WatchPeriod = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(50); // docs/unix-endpoint.md §7: 1 ms doubling to 50 ms, as Python

    public static async ValueTask<(Stream Stream, PipeListener? Listener)> MeetAsync(string name, ListenOptions options, CancellationToken cancellationToken)
    {
        string path = PipeNames.GetPath(name);
        UnixAccessRule access = UnixAccessRule.Resolve(options.Access);
        UnixAccessRule trusted = UnixAccessRule.Resolve(options.TrustedServers);
        var backoff = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            PathStatus seen = PathStatus.Of(path);
            if (seen.IsMissing)
            {
                UnixPipeListener? listener = UnixNameClaim.Publish(name, path, access);
                if (listener is not null)
                {
                    Stream? stream = await AcceptWhileOwnedAsync(listener, cancellationToken).ConfigureAwait(false);
                    if (stream is not null)
                    {
                        return (stream, listener);
                    }
                    continue; // our file was removed or replaced: start over
                }
                // The other side published first (EEXIST): connect on the next turn.
            }
            else if (!seen.MaybeSocket)
            {
                throw seen.Occupied(path);
            }
            else
            {
                Socket? socket = await UnixPipeConnector.TryConnectAsync(name, path, cancellationToken).ConfigureAwait(false);
                if (socket is not null)
                {
                    return (UnixPeer.Admit(socket, trusted, name), null);
                }
                StaleVerdict verdict = await StaleSocketRule.RemoveIfStaleAsync(path, seen, cancellationToken).ConfigureAwait(false);
                if (verdict is StaleVerdict.NotOurs or StaleVerdict.Unprovable)
                {
                    throw StaleSocketRule.InUse(name, path, verdict, seen);
                }
                if (verdict == StaleVerdict.Removed)
                {
                    continue; // claim it on the next turn
                }
            }
            await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            backoff = backoff * 2 < MaxBackoff ? backoff * 2 : MaxBackoff;
        }
    }

    /// <summary>
    /// The first client (that passes the peer rule), or null, with the listener disposed, once the path no longer
    /// holds our file: no client could reach us there, and the other side may be waiting as a server of its own.
    /// </summary>
    private static async ValueTask<Stream?> AcceptWhileOwnedAsync(UnixPipeListener listener, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                tick.CancelAfter(WatchPeriod);
                try
                {
                    return await listener.AcceptAsync(tick.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    if (!listener.OwnsPath())
                    {
                        listener.Dispose();
                        return null;
                    }
                }
            }
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }
}
