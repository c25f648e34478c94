using System.Collections.ObjectModel;

namespace NPipes;

/// <summary>
/// Who a pipe end admits as its peer (docs/access.md): on a server, which clients may connect
/// (<see cref="NPipesOptions.Access"/>); on a client, which servers it talks to (<see cref="NPipesOptions.TrustedServers"/>).
/// The current user is always admitted; more are opted in precisely: users and groups by name, by numeric id (Unix) or
/// by SID (Windows), or everyone. Immutable; each <c>Allow…</c> returns a new rule.
/// </summary>
/// <remarks>
/// An entry that does not apply on this platform (a SID on Unix, a numeric id on Windows) admits nobody, so one rule
/// can name both platforms' accounts (<c>.AllowUser(PipeAccess.Root).AllowUser(PipeAccess.LocalSystem)</c>). A name
/// that does not exist fails when the rule is applied (the server starts or the client connects) with an
/// <see cref="ArgumentException"/> naming it.
/// </remarks>
public sealed class PipeAccess
{
    /// <summary>Unix: the user id of root (uid 0), for clients of a root daemon.</summary>
    public const string Root = "0";

    /// <summary>Windows: LocalSystem (NT AUTHORITY\SYSTEM, S-1-5-18), the account most services run as.</summary>
    public const string LocalSystem = "S-1-5-18";

    /// <summary>Windows: LocalService (NT AUTHORITY\LOCAL SERVICE, S-1-5-19).</summary>
    public const string LocalService = "S-1-5-19";

    /// <summary>Windows: NetworkService (NT AUTHORITY\NETWORK SERVICE, S-1-5-20).</summary>
    public const string NetworkService = "S-1-5-20";

    /// <summary>Windows: the group BUILTIN\Administrators (S-1-5-32-544); as a group entry it admits elevated administrators.</summary>
    public const string Administrators = "S-1-5-32-544";

    private static readonly ReadOnlyCollection<string> None = new([]);

    private PipeAccess(bool everyone, ReadOnlyCollection<string> users, ReadOnlyCollection<string> groups)
    {
        AllowsEveryone = everyone;
        Users = users;
        Groups = groups;
    }

    /// <summary>The default: the current OS user alone.</summary>
    public static PipeAccess CurrentUser { get; } = new(false, None, None);

    /// <summary>Every local account (the explicit opt-out of any check; what <c>CurrentUserOnly = false</c> means).</summary>
    public static PipeAccess Everyone { get; } = new(true, None, None);

    /// <summary>Whether every local account is admitted.</summary>
    public bool AllowsEveryone { get; }

    /// <summary>Users admitted besides the current user: names, numeric ids (Unix) or SIDs (Windows), as given.</summary>
    public IReadOnlyList<string> Users { get; }

    /// <summary>Groups whose members are admitted: names, numeric ids (Unix) or SIDs (Windows), as given. On Unix a
    /// member is any process with the group as its effective or a supplementary group.</summary>
    public IReadOnlyList<string> Groups { get; }

    /// <summary>True when only the current user is admitted (the default).</summary>
    public bool IsCurrentUserOnly => !AllowsEveryone && Users.Count == 0 && Groups.Count == 0;

    /// <summary>This rule, also admitting the user <paramref name="user"/> (a name, a numeric uid on Unix, or a SID on Windows).</summary>
    /// <exception cref="ArgumentException">The entry is empty or blank.</exception>
    public PipeAccess AllowUser(string user) => new(AllowsEveryone, Add(Users, user, nameof(user)), (ReadOnlyCollection<string>)Groups);

    /// <summary>This rule, also admitting members of the group <paramref name="group"/> (a name, a numeric gid on Unix, or a SID on Windows).</summary>
    /// <exception cref="ArgumentException">The entry is empty or blank.</exception>
    public PipeAccess AllowGroup(string group) => new(AllowsEveryone, (ReadOnlyCollection<string>)Users, Add(Groups, group, nameof(group)));

    /// <summary>This rule, admitting every local account.</summary>
    public PipeAccess AllowEveryone() => AllowsEveryone ? this : new(true, (ReadOnlyCollection<string>)Users, (ReadOnlyCollection<string>)Groups);

    /// <summary>The rule in words, as error messages and logs give it: <c>current user</c>, <c>current user, users [alice], groups [staff]</c>, <c>everyone</c>.</summary>
    public override string ToString()
    {
        if (AllowsEveryone)
        {
            return "everyone";
        }
        string text = "current user";
        if (Users.Count > 0)
        {
            text += ", users [" + string.Join(", ", Users) + "]";
        }
        if (Groups.Count > 0)
        {
            text += ", groups [" + string.Join(", ", Groups) + "]";
        }
        return text;
    }

    private static ReadOnlyCollection<string> Add(IReadOnlyList<string> list, string entry, string parameter)
    {
        ArgumentNullException.ThrowIfNull(entry, parameter);
        if (entry.Trim().Length == 0)
        {
            throw new ArgumentException("A user or group entry cannot be empty.", parameter);
        }
        return list.Contains(entry) ? (ReadOnlyCollection<string>)list : new([.. list, entry]);
    }
}
