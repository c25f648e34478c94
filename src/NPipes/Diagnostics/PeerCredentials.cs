using System.Net.Sockets;
using NPipes.Messaging;
using NPipes.Transport;

namespace NPipes.Diagnostics;

/// <summary>Who is at the other end of a connection, for logs: process and user id where the platform tells (Unix sockets).</summary>
internal static class PeerCredentials
{
    /// <summary>The peer's (pid, uid); -1 for what is not known (Windows pipes, or a socket already closed).</summary>
    public static (int Pid, long Uid) Of(Stream stream)
    {
        if (stream is IdleWatchStream watch)
        {
            stream = watch.Inner;
        }
        if (OperatingSystem.IsWindows() || stream is not NetworkStream network)
        {
            return (-1, -1);
        }
        try
        {
            (int pid, uint uid) = UnixSockets.GetPeerCredentials(network.Socket);
            return (pid, uid);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return (-1, -1);
        }
    }
}
