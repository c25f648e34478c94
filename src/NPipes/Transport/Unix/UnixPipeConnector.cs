using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// Unix client: connects an AF_UNIX socket to .NET's path for the name. Instead of the BCL's spinning
/// <c>Connect(timeout)</c> (dotnet/runtime#25751), a missing or refusing server is retried with a short backoff until
/// the deadline, and cancellation is honoured at every step.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixPipeConnector
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(50);

    public static async ValueTask<Stream> ConnectAsync(string name, bool currentUserOnly, Deadline deadline, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            Socket? socket = await TryConnectOnceAsync(name, cancellationToken).ConfigureAwait(false);
            if (socket is not null)
            {
                return Verify(socket, currentUserOnly, name);
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

    /// <summary>One attempt: the connected socket, or null when no server is listening (no file, or a stale one).</summary>
    public static async ValueTask<Socket?> TryConnectOnceAsync(string name, CancellationToken cancellationToken)
    {
        Socket socket = UnixSockets.CreateSocket();
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(PipeName.GetPath(name)), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e) when (IsNoServer(e))
        {
            socket.Dispose();
            return null;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Checks the server's user when current-user-only is on and wraps the socket as a stream.</summary>
    public static Stream Verify(Socket socket, bool currentUserOnly, string name)
    {
        if (currentUserOnly && !UnixSockets.PeerIsCurrentUser(socket))
        {
            socket.Dispose();
            throw new UnauthorizedAccessException(
                $"The server on pipe '{name}' runs as another user; refused because current-user-only is on (NPipesOptions.CurrentUserOnly).");
        }
        return new UnixSocketStream(socket);
    }

    /// <summary>No file (ENOENT), a stale file (ECONNREFUSED), or a full backlog (EAGAIN): not connected, try again.</summary>
    internal static bool IsNoServer(SocketException e) => e.SocketErrorCode is SocketError.AddressNotAvailable
        or SocketError.ConnectionRefused or SocketError.TryAgain or SocketError.WouldBlock
        || e.NativeErrorCode == 2 /* ENOENT, where the PAL does not map it */;

    /// <summary>Whether the failure means a file exists but nobody listens on it.</summary>
    internal static bool IsRefused(SocketException e) => e.SocketErrorCode == SocketError.ConnectionRefused;
}
