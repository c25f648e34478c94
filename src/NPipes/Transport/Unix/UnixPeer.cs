using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>Doc §6 on the client side, and the one place a connected Unix socket becomes the stream Messaging reads and writes.</summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixPeer
{
    /// <summary>The stream over a connected socket whose peer has passed the access rule.</summary>
    public static Stream Stream(Socket socket, PeerIdentity peer) => new UnixSocketStream(socket, peer);

    /// <summary>
    /// A client's check of the server it reached, before a byte is written or read (docs/access.md §4): a server whose
    /// user <paramref name="trusted"/> does not admit, or whose user cannot be read, is closed and refused. Never
    /// retried: a squatter cannot make a client send twice.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The server is not (provably) one this client trusts.</exception>
    public static Stream Admit(Socket socket, UnixAccessRule trusted, string name)
    {
        PeerIdentity server = UnixPeerCredentials.Read(socket);
        if (!trusted.Admits(server))
        {
            socket.Dispose();
            throw trusted.Refusal(name, server);
        }
        return Stream(socket, server);
    }

    /// <summary>Doc §6: connect refused with EACCES/EPERM is another user's private socket: the same access error, at once.</summary>
    public static UnauthorizedAccessException Denied(string name, string path, Exception inner) =>
        new($"The socket of pipe '{name}' ('{path}') belongs to another user and may not be connected to.", inner);
}
