using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// Doc §7, the Unix client: until the deadline, lstat the path (anything but a socket fails at once), connect, and on
/// no file, a refusal or a full backlog back off (1 ms doubling to 50 ms) and try again; connected, apply the peer
/// rule. Instead of the BCL's spinning <c>Connect(timeout)</c> (dotnet/runtime#25751), cancellation is honoured at
/// every step. A client never removes anything.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixPipeConnector
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(50);

    public static async ValueTask<Stream> ConnectAsync(string name, PipeAccess trusted, Deadline deadline, CancellationToken cancellationToken)
    {
        string path = PipeNames.GetPath(name);
        UnixAccessRule rule = UnixAccessRule.Resolve(trusted);
        var backoff = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            PathStatus seen = PathStatus.Of(path);
            if (!seen.IsMissing)
            {
                if (!seen.MaybeSocket)
                {
                    throw seen.Occupied(path);
                }
                Socket? socket = await TryConnectAsync(name, path, cancellationToken).ConfigureAwait(false);
                if (socket is not null)
                {
                    return UnixPeer.Admit(socket, rule, name);
                }
            }
            if (deadline.HasExpired)
            {
                throw deadline.Expired($"Connecting to pipe '{name}'");
            }
            TimeSpan wait = deadline.IsInfinite || backoff < deadline.Remaining ? backoff : deadline.Remaining;
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            backoff = backoff * 2 < MaxBackoff ? backoff * 2 : MaxBackoff;
        }
    }

    /// <summary>
    /// One connect: the connected socket, or null when no server takes it now (the file vanished, refuses, or has a full
    /// backlog). Another user's private socket (EACCES/EPERM) is an access error at once.
    /// </summary>
    public static async ValueTask<Socket?> TryConnectAsync(string name, string path, CancellationToken cancellationToken)
    {
        Socket socket = UnixSockets.CreateSocket();
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e) when (UnixSockets.Classify(e) is ProbeResult result)
        {
            socket.Dispose();
            return result == ProbeResult.Denied ? throw UnixPeer.Denied(name, path, e) : null;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
