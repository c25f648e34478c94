using NPipes.Transport;

namespace NPipes.Diagnostics;

/// <summary>Who is at the other end of a connection, for logs: what the transport read when the connection was made (no system call here).</summary>
internal static class PeerCredentials
{
    /// <summary>The peer of a transport stream (not a server's watching wrapper); <see cref="PeerIdentity.Unknown"/> for any other stream.</summary>
    public static PeerIdentity Of(Stream stream) => (stream as ITransportStream)?.Peer ?? PeerIdentity.Unknown;
}
