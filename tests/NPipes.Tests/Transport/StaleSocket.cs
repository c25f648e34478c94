using System.Net.Sockets;

namespace NPipes.Tests.Transport;

/// <summary>Makes the socket file a server leaves behind when it is killed: bound, nobody listening.</summary>
internal static class StaleSocket
{
    public static void Make(string path)
    {
        // .NET unlinks the file a socket bound when that socket is disposed, while a killed server's file stays. So the
        // socket is bound at a name of its own, hard-linked to the path, and closed: .NET removes only its own name.
        string own = path + ".bound";
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            socket.Bind(new UnixDomainSocketEndPoint(own));
            Planted.Run("ln", own, path);
        }
        Assert.False(File.Exists(own));
        Assert.True(File.Exists(path));
    }
}

/// <summary>Test access to the transport's liveness check.</summary>
internal static class UnixSocketsProbe
{
    public static bool IsListening(string path) => !OperatingSystem.IsWindows() && NPipes.Transport.UnixSockets.Probe(path) == NPipes.Transport.ProbeResult.Live;
}
