using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace NPipes.Hosting;

/// <summary>
/// A registered client's settings, named by pipe name: set in code (<c>AddNPipesClient(..., configure)</c>) and/or bound
/// from the configuration section <c>NPipes:Clients:&lt;pipe name&gt;</c>, which is applied after the code.
/// </summary>
public sealed class NPipesClientOptions : NPipesEndpointOptions
{
    /// <summary>The configuration section under which each client's settings are found, by pipe name.</summary>
    public const string ConfigurationSection = "NPipes:Clients";

    /// <summary>How long connecting (and waiting for a reconnection) may take; null (default): no limit, use the operation's token.</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>Reconnect in the background after losing the connection (nothing is re-sent). Default true.</summary>
    public bool AutoReconnect { get; set; } = PipeClientOptions.Default.AutoReconnect;

    /// <summary>The first wait between reconnection attempts (doubling up to <see cref="MaxReconnectDelay"/>). Default 50 ms.</summary>
    public TimeSpan InitialReconnectDelay { get; set; } = PipeClientOptions.Default.InitialReconnectDelay;

    /// <summary>The longest wait between reconnection attempts. Default 5 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = PipeClientOptions.Default.MaxReconnectDelay;

    /// <summary>Server users trusted besides the current user (names, uids such as "0" for root, or SIDs such as
    /// "S-1-5-18" for LocalSystem); docs/access.md. Bound from <c>ServerUsers:0</c>, <c>ServerUsers:1</c>...</summary>
    public IList<string> ServerUsers { get; } = [];

    /// <summary>Groups trusted besides the current user: a server holding one of them (primary or supplementary on Unix,
    /// an enabled group of its token on Windows) is talked to. Names, gids or SIDs; docs/access.md §4. Bound from
    /// <c>ServerGroups:0</c>, <c>ServerGroups:1</c>...</summary>
    public IList<string> ServerGroups { get; } = [];

    /// <summary>Which servers are trusted, as <see cref="NPipesOptions.TrustedServers"/>: the current user plus
    /// <see cref="ServerUsers"/> and <see cref="ServerGroups"/>; any server with <c>CurrentUserOnly = false</c>.</summary>
    public PipeAccess ToTrustedServers() => ServerGroups.Aggregate(
        ServerUsers.Aggregate(CurrentUserOnly ? PipeAccess.CurrentUser : PipeAccess.Everyone, static (a, user) => a.AllowUser(user)),
        static (a, group) => a.AllowGroup(group));

    /// <summary>The <see cref="PipeClientOptions"/> these settings describe, reporting to the given factories.</summary>
    /// <exception cref="ArgumentException">A value is out of range or the encoding is unknown.</exception>
    public PipeClientOptions ToPipeClientOptions(ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null) => new()
    {
        Connection = ToConnectionOptions(ConnectTimeout ?? Timeout.InfiniteTimeSpan, loggerFactory, meterFactory) with { TrustedServers = ToTrustedServers() },
        AutoReconnect = AutoReconnect,
        InitialReconnectDelay = InitialReconnectDelay,
        MaxReconnectDelay = MaxReconnectDelay,
        LoggerFactory = loggerFactory,
        MeterFactory = meterFactory,
    };
}
