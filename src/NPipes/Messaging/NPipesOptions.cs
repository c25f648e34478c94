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
    /// A server lets only processes of the current OS user connect; on Unix a client also connects only to a server of
    /// the current user (it checks the peer's user id). On by default. Setting it to false is the explicit opt-out: on
    /// Unix the socket file is made mode 0666 and the client does not check; on Windows the pipe gets the default
    /// security descriptor.
    /// </summary>
    /// <remarks>
    /// A Windows client does not check the server's user either way: .NET's client-side check demands that the pipe's
    /// owner be this user, which pipes created by npipes (or by any elevated process, owned by Administrators) fail, so it
    /// would refuse exactly the peers NPipes exists to reach. On Windows who may connect is decided by the server's access
    /// list, which this option restricts on NPipes servers.
    /// </remarks>
    public bool CurrentUserOnly { get; init; } = true;

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

    /// <summary>These options with the frame's CRC switched on or off.</summary>
    public NPipesOptions WithCrc(bool crc) => Frame.Crc == crc ? this : this with { Frame = Frame with { Crc = crc } };
}
