using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace NPipes.Hosting;

/// <summary>
/// A hosted server's settings, named by pipe name: set in code (<c>AddNPipesServer(..., configure)</c>) and/or bound from
/// the configuration section <c>NPipes:Servers:&lt;pipe name&gt;</c> (appsettings.json), which is applied after the code.
/// </summary>
public sealed class NPipesServerOptions : NPipesEndpointOptions
{
    /// <summary>The configuration section under which each server's settings are found, by pipe name.</summary>
    public const string ConfigurationSection = "NPipes:Servers";

    /// <summary>How many connections may be open at once. Default 1024; see <see cref="PipeServerOptions.MaxConnections"/>.</summary>
    public int MaxConnections { get; set; } = PipeServerOptions.Default.MaxConnections;

    /// <summary>Close a connection whose client sent nothing for this long; null (default): never. See <see cref="PipeServerOptions.IdleTimeout"/>.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>Close a connection whose client has not read a reply for this long; null (default): never. See <see cref="PipeServerOptions.WriteTimeout"/>.</summary>
    public TimeSpan? WriteTimeout { get; set; }

    /// <summary>Close a connection whose frame takes longer than this to arrive; null (default): never. See <see cref="PipeServerOptions.FrameTimeout"/>.</summary>
    public TimeSpan? FrameTimeout { get; set; }

    /// <summary>
    /// On host shutdown, how long requests and connections in progress may take to finish before they are cancelled and
    /// closed. Null (default): as long as the host's shutdown allows (<c>HostOptions.ShutdownTimeout</c>, 30 s by default).
    /// </summary>
    public TimeSpan? DrainTimeout { get; set; }

    /// <summary>Users admitted besides the current user (names, uids, or Windows SIDs); docs/access.md. Bound from <c>AllowUsers:0</c>, <c>AllowUsers:1</c>...</summary>
    public IList<string> AllowUsers { get; } = [];

    /// <summary>Groups whose members are admitted (names, gids, or Windows SIDs; on Unix supplementary membership counts).</summary>
    public IList<string> AllowGroups { get; } = [];

    /// <summary>Admit every local account. Default false.</summary>
    public bool AllowEveryone { get; set; }

    /// <summary>Who may connect, as <see cref="NPipesOptions.Access"/>: the current user, plus <see cref="AllowUsers"/>
    /// and <see cref="AllowGroups"/>; everyone with <see cref="AllowEveryone"/> or <c>CurrentUserOnly = false</c>.</summary>
    public PipeAccess ToPipeAccess()
    {
        PipeAccess access = AllowEveryone || !CurrentUserOnly ? PipeAccess.Everyone : PipeAccess.CurrentUser;
        access = AllowUsers.Aggregate(access, static (a, user) => a.AllowUser(user));
        return AllowGroups.Aggregate(access, static (a, group) => a.AllowGroup(group));
    }

    /// <summary>The <see cref="PipeServerOptions"/> these settings describe, reporting to the given factories.</summary>
    /// <exception cref="ArgumentException">A value is out of range or the encoding is unknown.</exception>
    public PipeServerOptions ToPipeServerOptions(ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null) => new()
    {
        Connection = ToConnectionOptions(Timeout.InfiniteTimeSpan, loggerFactory, meterFactory) with { Access = ToPipeAccess() },
        MaxConnections = MaxConnections,
        IdleTimeout = IdleTimeout ?? Timeout.InfiniteTimeSpan,
        WriteTimeout = WriteTimeout ?? Timeout.InfiniteTimeSpan,
        FrameTimeout = FrameTimeout ?? Timeout.InfiniteTimeSpan,
        DrainTimeout = DrainTimeout ?? Timeout.InfiniteTimeSpan, // bounded by the host's shutdown token instead
        LoggerFactory = loggerFactory,
        MeterFactory = meterFactory,
    };
}
