using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// A <see cref="PipeAccess"/> resolved to SIDs on this system (docs/access.md §2, §3): the SIDs the pipe's DACL admits
/// (Everyone is <c>WD</c>), and the check of a peer process's token: its user is this process's user or a listed user,
/// or one of its enabled, not deny-only, groups is a listed group.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class WindowsAccessRule
{
    private readonly HashSet<string> _users = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _groups = new(StringComparer.OrdinalIgnoreCase);

    private WindowsAccessRule(PipeAccess access)
    {
        Access = access;
        SelfSid = WindowsTokens.CurrentUserSid();
        foreach (string user in access.Users)
        {
            if (!IsUnixId(user))
            {
                _users.Add(WindowsTokens.SidOf(user, "user"));
            }
        }
        foreach (string group in access.Groups)
        {
            if (!IsUnixId(group))
            {
                _groups.Add(WindowsTokens.SidOf(group, "group"));
            }
        }
        _users.Remove(SelfSid);
        AllowedSids = access.AllowsEveryone ? ["WD"] : [.. _users, .. _groups];
    }

    /// <summary>The rule as given.</summary>
    public PipeAccess Access { get; }

    /// <summary>This process's user SID: the pipe's owner and always admitted.</summary>
    public string SelfSid { get; }

    /// <summary>The SIDs besides <see cref="SelfSid"/> that the pipe's DACL admits.</summary>
    public IReadOnlyList<string> AllowedSids { get; }

    /// <summary>The rule resolved now; names are looked up once, here.</summary>
    /// <exception cref="ArgumentException">A named account does not exist, or a SID is not valid.</exception>
    public static WindowsAccessRule Resolve(PipeAccess access) => new(access);

    /// <summary>Whether a peer whose token says <paramref name="user"/> and <paramref name="groups"/> is admitted.</summary>
    public bool Admits(string user, IEnumerable<string> groups) =>
        Access.AllowsEveryone || string.Equals(user, SelfSid, StringComparison.OrdinalIgnoreCase) || _users.Contains(user) || groups.Any(_groups.Contains);

    /// <summary>The peer of a connected pipe: pid, and user SID (with groups, for the check) when its token can be read.</summary>
    public static (PeerIdentity Peer, string[] Groups) ReadPeer(SafeHandle pipe, bool peerIsServer)
    {
        int pid = WindowsTokens.PeerProcessId(pipe, peerIsServer);
        (string User, string[] Groups)? token = pid > 0 ? WindowsTokens.OfProcess(pid) : null;
        var peer = new PeerIdentity(pid, null, token?.User, [], static p => p.Sid is { } sid ? WindowsTokens.NameOf(sid) : null);
        return (peer, token?.Groups ?? []);
    }

    /// <summary>Doc §4: a client's refusal, naming the server's identity and the option that would admit it.</summary>
    public UnauthorizedAccessException Refusal(string name, PeerIdentity server, string? owner)
    {
        string who = server.Sid is { } sid
            ? $"user {server.UserName ?? sid} ({sid}), pid {server.ProcessId}"
            : $"a user whose token could not be read (pid {server.ProcessId}; pipe owner {owner ?? "unknown"})";
        string entry = server.Sid ?? owner ?? "";
        string admit = entry.Length > 0
            ? $"to trust it, add it to NPipesOptions.TrustedServers (.AllowUser(\"{entry}\"); CLI --server-user {entry})"
            : "its user must be readable to be trusted";
        return new UnauthorizedAccessException(
            $"The server on pipe '{name}' runs as {who}, which this client does not trust (trusted: {Access}); " +
            $"refused before anything was sent or read; {admit}.");
    }

    private static bool IsUnixId(string entry) => entry.Length > 0 && entry.All(char.IsDigit);
}
