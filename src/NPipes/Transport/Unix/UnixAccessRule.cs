using System.Globalization;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// A <see cref="PipeAccess"/> resolved to ids on this system (docs/access.md §2, §3): the kernel-reported peer is
/// admitted when it is this process's user, a listed uid, has a listed gid among its groups, or everyone is allowed.
/// Also the socket file's mode that follows from it: 0600 for the current user alone; 0660 with the file's group set for
/// exactly one group; 0666 otherwise (the kernel check alone decides).
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class UnixAccessRule
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Group = Private | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
    private const UnixFileMode World = Group | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    private readonly HashSet<uint> _uids = [];
    private readonly HashSet<uint> _gids = [];

    private UnixAccessRule(PipeAccess access)
    {
        Access = access;
        Everyone = access.AllowsEveryone;
        foreach (string user in access.Users)
        {
            if (UnixAccounts.UserId(user) is uint uid)
            {
                _uids.Add(uid);
            }
        }
        foreach (string group in access.Groups)
        {
            if (UnixAccounts.GroupId(group) is uint gid)
            {
                _gids.Add(gid);
            }
        }
    }

    /// <summary>The rule as given.</summary>
    public PipeAccess Access { get; }

    /// <summary>No check at all.</summary>
    public bool Everyone { get; }

    /// <summary>The rule resolved now; names are looked up once, here.</summary>
    /// <exception cref="ArgumentException">A named user or group does not exist.</exception>
    public static UnixAccessRule Resolve(PipeAccess access) => new(access);

    /// <summary>Whether the kernel-reported <paramref name="peer"/> may be talked to. A peer whose uid could not be read is refused (unless everyone is allowed).</summary>
    public bool Admits(PeerIdentity peer)
    {
        if (Everyone)
        {
            return true;
        }
        if (peer.UserId is not long uid)
        {
            return false;
        }
        if (uid == UnixSockets.CurrentUid || _uids.Contains((uint)uid))
        {
            return true;
        }
        foreach (long gid in peer.GroupIds)
        {
            if (_gids.Contains((uint)gid))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Sets the mode (and, for one group, the group) of a socket file just bound, before it is published.</summary>
    public void Apply(string path)
    {
        if (!Everyone && _uids.Count == 0 && _gids.Count == 0)
        {
            File.SetUnixFileMode(path, Private);
            return;
        }
        if (!Everyone && _uids.Count == 0 && _gids.Count == 1 && UnixAccounts.SetGroup(path, _gids.First()))
        {
            File.SetUnixFileMode(path, Group);
            return;
        }
        // Several principals, or a group this process may not give the file to: the kernel check decides.
        File.SetUnixFileMode(path, World);
    }

    /// <summary>Doc §6: the words a client's refusal uses for the server it found and the option that would admit it.</summary>
    public UnauthorizedAccessException Refusal(string name, PeerIdentity server)
    {
        string who = server.UserId is long uid
            ? "uid " + uid.ToString(CultureInfo.InvariantCulture) + (server.UserName is { } user ? " (" + user + ")" : "")
            : "a user that could not be read";
        string admit = server.UserId is long id
            ? $"to trust it, add it to NPipesOptions.TrustedServers (.AllowUser(\"{server.UserName ?? id.ToString(CultureInfo.InvariantCulture)}\"); CLI --server-user {server.UserName ?? id.ToString(CultureInfo.InvariantCulture)})"
            : "its user must be readable to be trusted";
        if (server.UserId is not null && Access.Groups.Count > 0)
        {
            // The kernel gives the server's groups with its uid: one of them would admit it too (docs/access.md §4).
            admit += ", or one of its groups (.AllowGroup(\"NAME\"); CLI --server-group NAME)";
        }
        return new UnauthorizedAccessException(
            $"The server on pipe '{name}' runs as {who}, which this client does not trust (trusted: {Access}); " +
            $"refused before anything was sent or read; {admit}.");
    }
}
