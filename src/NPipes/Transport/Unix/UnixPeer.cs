using System.Globalization;
using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>Doc §6 on the client side, and the one place a connected Unix socket becomes the stream Messaging reads and writes.</summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixPeer
{
    /// <summary>The stream over a connected socket that has passed the peer rule.</summary>
    public static Stream Stream(Socket socket) => new UnixSocketStream(socket);

    /// <summary>
    /// A client's check of the server it reached, before a byte is written or read: with current-user-only on, a server
    /// of another user, or whose user cannot be read, is closed and refused. Never retried: a squatter cannot make a
    /// client send twice.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The server is not (provably) the current user's.</exception>
    public static Stream Admit(Socket socket, bool currentUserOnly, string name)
    {
        if (currentUserOnly)
        {
            uint? uid = UnixSockets.PeerUid(socket);
            if (uid != UnixSockets.CurrentUid)
            {
                socket.Dispose();
                string who = uid is uint u ? "uid " + u.ToString(CultureInfo.InvariantCulture) : "a user that could not be read";
                throw new UnauthorizedAccessException(
                    $"The server on pipe '{name}' runs as {who}, not as this user (uid {UnixSockets.CurrentUid.ToString(CultureInfo.InvariantCulture)}); " +
                    "refused before anything was sent, because current-user-only is on (NPipesOptions.CurrentUserOnly).");
            }
        }
        return Stream(socket);
    }

    /// <summary>Doc §6: connect refused with EACCES/EPERM is another user's private socket: the same access error, at once.</summary>
    public static UnauthorizedAccessException Denied(string name, string path, Exception inner) =>
        new($"The socket of pipe '{name}' ('{path}') belongs to another user and may not be connected to.", inner);
}
