using System.Globalization;

namespace NPipes;

/// <summary>
/// Who is at the other end of a connection, as the OS reported it when the connection was made (docs/access.md §5):
/// read once per connection, never per message. On a server it is the client; on a client, the server.
/// </summary>
/// <remarks>
/// On Unix the user and groups come from the kernel (<c>SO_PEERCRED</c> and <c>SO_PEERGROUPS</c> on Linux,
/// <c>LOCAL_PEERCRED</c> on macOS/BSD) and describe the peer process at the moment it connected (or listened). On
/// Windows the user is the SID of the peer process's token (GetNamedPipeClientProcessId / GetNamedPipeServerProcessId,
/// then OpenProcessToken); it is null when that token could not be read.
/// </remarks>
public sealed class PeerIdentity
{
    private readonly Func<PeerIdentity, string?>? _lookUpName;
    private string? _userName;
    private int _nameResolved;

    internal PeerIdentity(int processId, long? userId, string? sid, IReadOnlyList<long> groupIds, Func<PeerIdentity, string?>? lookUpName)
    {
        ProcessId = processId;
        UserId = userId;
        Sid = sid;
        GroupIds = groupIds;
        _lookUpName = lookUpName;
    }

    /// <summary>Nothing known (a connection over a stream that is not a pipe).</summary>
    public static PeerIdentity Unknown { get; } = new(-1, null, null, [], null);

    /// <summary>The peer's process id; -1 where the platform does not tell (macOS/BSD servers) or it could not be read.</summary>
    public int ProcessId { get; }

    /// <summary>Unix: the peer's effective user id. Null on Windows, or when it could not be read.</summary>
    public long? UserId { get; }

    /// <summary>Windows: the peer's user SID (<c>S-1-5-21-…</c>, <c>S-1-5-18</c>…). Null on Unix, or when the peer's token could not be read.</summary>
    public string? Sid { get; }

    /// <summary>Unix: the peer's effective group id first, then its supplementary groups (Linux; on macOS/BSD up to 16). Empty on Windows.</summary>
    public IReadOnlyList<long> GroupIds { get; }

    /// <summary>
    /// The peer's user name (Unix: the account of <see cref="UserId"/>; Windows: <c>DOMAIN\user</c> of <see cref="Sid"/>),
    /// looked up the first time it is read; null when the lookup fails or nothing is known. Never throws.
    /// </summary>
    public string? UserName
    {
        get
        {
            if (Volatile.Read(ref _nameResolved) == 0)
            {
                string? name = null;
                try
                {
                    name = _lookUpName?.Invoke(this);
                }
                catch (Exception)
                {
                    // A broken name service gives no name, never an error to the caller.
                }
                _userName = name;
                Volatile.Write(ref _nameResolved, 1);
            }
            return _userName;
        }
    }

    /// <summary>The identity in words, for logs: <c>pid 4242, uid 1000</c>, <c>pid 4242, sid S-1-5-18</c>, <c>unknown</c>.</summary>
    public override string ToString()
    {
        var parts = new List<string>(2);
        if (ProcessId >= 0)
        {
            parts.Add("pid " + ProcessId.ToString(CultureInfo.InvariantCulture));
        }
        if (UserId is long uid)
        {
            parts.Add("uid " + uid.ToString(CultureInfo.InvariantCulture));
        }
        if (Sid is not null)
        {
            parts.Add("sid " + Sid);
        }
        return parts.Count == 0 ? "unknown" : string.Join(", ", parts);
    }
}
