using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>What a liveness probe found at a socket path (doc §5).</summary>
internal enum ProbeResult
{
    /// <summary>It accepted (or its backlog is full): a server is there.</summary>
    Live,
    /// <summary>ECONNREFUSED: nobody listens on it (or it is not a socket at all).</summary>
    Refused,
    /// <summary>Nothing at the path any more.</summary>
    Missing,
    /// <summary>EACCES/EPERM: another user's socket we may not connect to.</summary>
    Denied,
}

/// <summary>AF_UNIX helpers: sockets and liveness probes (peer credentials: <see cref="UnixPeerCredentials"/>).</summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixSockets
{
    public static Socket CreateSocket() => new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    /// <summary>This process's effective user id.</summary>
    public static uint CurrentUid => UnixNative.geteuid();

    /// <summary>
    /// One liveness probe: a non-blocking connect (a blocking one would wait on a full backlog), closed at once before
    /// a byte is written or read.
    /// </summary>
    public static ProbeResult Probe(string path)
    {
        using Socket probe = CreateSocket();
        probe.Blocking = false;
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return ProbeResult.Live;
        }
        catch (SocketException e)
        {
            return Classify(e) ?? throw new IOException($"Cannot probe '{path}': {e.Message}", e);
        }
    }

    /// <summary>What a failed connect means for liveness; null for an error outside the protocol.</summary>
    public static ProbeResult? Classify(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.WouldBlock or SocketError.TryAgain or SocketError.InProgress or SocketError.IOPending => ProbeResult.Live,
        SocketError.ConnectionRefused => ProbeResult.Refused,
        SocketError.AddressNotAvailable => ProbeResult.Missing, // ENOENT as .NET maps it
        SocketError.AccessDenied => ProbeResult.Denied,
        _ => e.NativeErrorCode switch
        {
            UnixNative.ENOENT or UnixNative.ENOTDIR => ProbeResult.Missing,
            UnixNative.EACCES or UnixNative.EPERM => ProbeResult.Denied,
            _ => null,
        },
    };
}
