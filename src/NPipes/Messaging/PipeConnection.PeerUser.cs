using NPipes.Transport;

namespace NPipes;

// Whether the peer is known to run as this process's own OS user, for what a connection may reveal to it (JSON-RPC error
// replies' stack traces). From the identity the transport read when the connection was made (docs/access.md).
public sealed partial class PipeConnection
{
    /// <summary>
    /// True when the peer is known to be this process's OS user: its user id (Unix) or SID (Windows) equals this
    /// process's. False when it is another user or not known.
    /// </summary>
    internal bool PeerIsCurrentUser => PipePlatform.Current.IsCurrentUser(Peer);
}
