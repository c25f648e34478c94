using System.Net.Sockets;
using NPipes.Transport;

namespace NPipes.Diagnostics;

/// <summary>Who is at the other end of a connection, for logs: process and user id where the platform tells (Unix sockets).</summary>
internal static class PeerCredentials
{
    /// <summary>
    /// The peer's (pid, uid) on a transport stream (not a server's watching wrapper); -1 for what is not known (Windows
    /// pipes, a pid outside Linux, or a socket already closed).
    /// </summary>
    public static (int Pid, long Uid) Of(Stream stream)
    {
        if (OperatingSystem.IsWindows() || stream is not UnixSocketStream unix)
        {
            return (-1, -1);
        }
        try
        {
            Socket socket = unix.ConnectedSocket;
            return (UnixSockets.PeerPid(socket), UnixSockets.PeerUid(socket) is uint uid ? uid : -1);
        }
        catch (ObjectDisposedException)
        {
            return (-1, -1);
        }
    }
}
