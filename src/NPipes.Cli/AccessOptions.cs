using System.CommandLine;

namespace NPipes.Cli;

/// <summary>
/// docs/access.md §7, the CLI spelling both languages share: who a server admits (<c>--allow-user NAME</c>,
/// <c>--allow-group NAME</c>, <c>--allow-everyone</c>; on echo, receive and rpc serve) and which servers a client
/// trusts (<c>--server-user NAME</c>, <c>--server-group NAME</c>; on send, request and rpc call). Each name may be repeated.
/// </summary>
internal sealed class AccessOptions
{
    public Option<string[]> AllowUser { get; } = Repeatable("--allow-user", "Also admit clients running as user NAME (a name, a uid, or a Windows SID); repeatable.");

    public Option<string[]> AllowGroup { get; } = Repeatable("--allow-group", "Also admit clients in group NAME (a name, a gid, or a Windows SID; on Unix supplementary membership counts); repeatable.");

    public Option<bool> AllowEveryone { get; } = new("--allow-everyone") { Description = "Admit every local account (no check).", Arity = ArgumentArity.Zero };

    public Option<string[]> ServerUser { get; } = Repeatable("--server-user", "Also trust a server running as user NAME (root, a uid, LocalSystem or a Windows SID); repeatable.");

    public Option<string[]> ServerGroup { get; } = Repeatable("--server-group", "Also trust a server in group NAME (a name, a gid, or a Windows SID; on Unix supplementary membership counts); repeatable.");

    /// <summary>Adds the server-side flags to a command.</summary>
    public void AddServerFlags(Command command)
    {
        command.Add(AllowUser);
        command.Add(AllowGroup);
        command.Add(AllowEveryone);
    }

    /// <summary>Adds the client-side flags to a command.</summary>
    public void AddClientFlags(Command command)
    {
        command.Add(ServerUser);
        command.Add(ServerGroup);
    }

    /// <summary>Who the server admits: the current user plus what the flags name.</summary>
    public PipeAccess Access(ParseResult result)
    {
        PipeAccess access = result.GetValue(AllowEveryone) ? PipeAccess.Everyone : PipeAccess.CurrentUser;
        foreach (string user in result.GetValue(AllowUser) ?? [])
        {
            access = access.AllowUser(user);
        }
        foreach (string group in result.GetValue(AllowGroup) ?? [])
        {
            access = access.AllowGroup(group);
        }
        return access;
    }

    /// <summary>Which servers the client trusts: the current user plus what --server-user and --server-group name.</summary>
    public PipeAccess Trusted(ParseResult result)
    {
        PipeAccess trusted = PipeAccess.CurrentUser;
        foreach (string user in result.GetValue(ServerUser) ?? [])
        {
            trusted = trusted.AllowUser(user);
        }
        foreach (string group in result.GetValue(ServerGroup) ?? [])
        {
            trusted = trusted.AllowGroup(group);
        }
        return trusted;
    }

    private static Option<string[]> Repeatable(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "NAME",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };
}
