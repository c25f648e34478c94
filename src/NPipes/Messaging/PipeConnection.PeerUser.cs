using NPipes.Diagnostics;
using NPipes.Transport;

namespace NPipes;

// Whether the peer is known to run as this process's own OS user, for what a connection may reveal to it (JSON-RPC error
// replies' stack traces). Only what the transport tells today: the Unix socket's peer user id.
public sealed partial class PipeConnection
{
    /// <summary>
    /// True when the peer is known to be this process's OS user: on Unix its socket's peer user id equals this process's
    /// effective user id. False when it is another user or not known (Windows pipes, a closed socket).
    /// </summary>
    internal bool PeerIsCurrentUser
    {
        get
        {
            if (OperatingSystem.IsWindows() || _transport is not Stream stream)
            {
                return false;
            }
            long uid = PeerCredentials.Of(stream).Uid;
            return uid >= 0 && uid == UnixSockets.CurrentUid;
        }
    }
}
