using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace NPipes;

/// <summary>Options for connections, servers and the <see cref="Ipc"/> facade. Immutable; share freely.</summary>
public sealed record NPipesOptions
{
    /// <summary>Every default: npipes 1.0.1's frame format, current-user-only access, no timeout.</summary>
    public static NPipesOptions Default { get; } = new();

    private readonly TimeSpan _timeout = System.Threading.Timeout.InfiniteTimeSpan;

    /// <summary>The frame format: byte order, text encoding, CRC and payload limit.</summary>
    public FrameOptions Frame { get; init; } = FrameOptions.Default;

    /// <summary>
    /// How long connecting may take. For <see cref="Ipc"/> it bounds the whole operation: meeting the other side and
    /// transferring the message (for a receiver, the last byte of the frame; for a sender, the receiver's confirmation).
    /// Default <see cref="Timeout.InfiniteTimeSpan"/>: wait as npipes does. Any length is honoured: one longer than a
    /// timer can run at once is timed in steps, and one past the monotonic clock's range (about 292 years, e.g.
    /// <see cref="TimeSpan.MaxValue"/>) never expires.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative (other than <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    public TimeSpan Timeout
    {
        get => _timeout;
        init => _timeout = value == System.Threading.Timeout.InfiniteTimeSpan || value >= TimeSpan.Zero
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "Use a timeout of zero or more, or Timeout.InfiniteTimeSpan.");
    }

    /// <summary>
    /// Who may connect to a server made with these options (<see cref="PipeServer"/>, the server side of <see cref="Ipc"/>):
    /// default <see cref="PipeAccess.CurrentUser"/>. Enforced before a byte is read (docs/access.md): on Unix by the
    /// kernel-reported peer uid and groups, and the socket file's mode; on Windows by the pipe's access list.
    /// </summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public PipeAccess Access
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(value));
    } = PipeAccess.CurrentUser;

    /// <summary>
    /// Which servers a client made with these options talks to, by the user the server process runs as (and, for
    /// group entries, its groups): default <see cref="PipeAccess.CurrentUser"/>. Checked before the first byte is written
    /// or read; a server it does not admit is an <see cref="UnauthorizedAccessException"/> naming the server's identity,
    /// never retried. For a service: <c>PipeAccess.CurrentUser.AllowUser(PipeAccess.Root)</c> (Unix) or
    /// <c>.AllowUser(PipeAccess.LocalSystem)</c> (Windows).
    /// </summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public PipeAccess TrustedServers
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(value));
    } = PipeAccess.CurrentUser;

    /// <summary>
    /// The 0.2.0 shorthand for <see cref="Access"/> and <see cref="TrustedServers"/> together: true (the default) sets
    /// both to <see cref="PipeAccess.CurrentUser"/>; false sets both to <see cref="PipeAccess.Everyone"/> (any local
    /// account may connect, any server is talked to). Reads true only when both are the current user alone. Whichever of
    /// the three is set last wins.
    /// </summary>
    public bool CurrentUserOnly
    {
        get => Access.IsCurrentUserOnly && TrustedServers.IsCurrentUserOnly;
        init
        {
            Access = value ? PipeAccess.CurrentUser : PipeAccess.Everyone;
            TrustedServers = Access;
        }
    }

    /// <summary>Windows pipe buffer size, in and out. 65536, as npipes uses; 0 makes Wine and some Windows versions stall writers.</summary>
    public int PipeBufferSize { get; init; } = 65536;

    /// <summary>
    /// Where connections log (category "NPipes"; events in the README): frame errors, closes. Null (the default): no
    /// logging, at no cost. A server's or client's own <see cref="PipeServerOptions.LoggerFactory"/> /
    /// <see cref="PipeClientOptions.LoggerFactory"/> takes precedence for its connections.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Makes the meter "NPipes" that connections count on (a host's factory, so its metrics pipeline sees them). Null
    /// (the default): one shared static meter of that name. Either way nothing is counted while no listener is attached.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// Large payloads through shared memory (docs/shared-memory.md): null (the default) is off. Both sides must opt in,
    /// as both must agree on CRC; a side without it refuses the peer's shared-memory frames. Windows (both builds) and
    /// Linux (the net10.0 build): elsewhere (macOS, the netstandard2.0 build on Linux) a connection made with it throws
    /// <see cref="PlatformNotSupportedException"/>.
    /// </summary>
    public SharedMemoryOptions? SharedMemory { get; init; }

    /// <summary>These options with the frame's CRC switched on or off.</summary>
    public NPipesOptions WithCrc(bool crc) => Frame.Crc == crc ? this : this with { Frame = Frame with { Crc = crc } };
}
