using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using NPipes.Transport;

namespace NPipes;

/// <summary>Options for a <see cref="PipeServer"/>. Immutable; share freely.</summary>
public sealed record PipeServerOptions
{
    /// <summary>Every default: up to 1024 connections (fewer under a low open-file limit, see <see cref="MaxConnections"/>), no idle timeout, 5 s drain on dispose.</summary>
    public static PipeServerOptions Default { get; } = new();

    private readonly int _maxConnections = DescriptorLimit.MaxConnectionsFor(DescriptorLimit.Current);
    private readonly TimeSpan _idleTimeout = Timeout.InfiniteTimeSpan;
    private readonly TimeSpan _drainTimeout = TimeSpan.FromSeconds(5);
    private readonly TimeSpan _writeTimeout = Timeout.InfiniteTimeSpan;
    private readonly TimeSpan _frameTimeout = Timeout.InfiniteTimeSpan;

    /// <summary>Options for each accepted connection: frame format, access (current user only by default), buffer size.</summary>
    public NPipesOptions Connection { get; init; } = NPipesOptions.Default;

    /// <summary>
    /// Where the server (listening, accepts, refusals, handler errors, stop) and its connections log (category "NPipes"); overrides <see cref="NPipesOptions.LoggerFactory"/>
    /// of <see cref="Connection"/>. Null (the default): that one, or no logging at no cost.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Makes the meter "NPipes" the server and its connections count on; overrides <see cref="NPipesOptions.MeterFactory"/>
    /// of <see cref="Connection"/>. Null (the default): that one, or the shared static meter.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// How many connections may be open at once. A client beyond the limit is accepted and closed at once, without a
    /// byte sent; see <see cref="PipeServer"/> for exactly what that client sees.
    /// </summary>
    /// <remarks>
    /// The default leaves file descriptors for the runtime under the process's own open-file limit (each connection
    /// holds one): min(1024, soft RLIMIT_NOFILE - max(128, limit / 4)) on Unix, read when these options are created
    /// (768 under the common limit of 1,024; 128 under 256); 1024 on Windows. A larger value lets clients exhaust the
    /// descriptors: accepts then fail and are retried with backoff (<see cref="PipeServer.FailedAccepts"/>), but the
    /// .NET runtime aborts when it cannot start a thread for want of one, so raise the open-file limit instead.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxConnections
    {
        get => _maxConnections;
        init => _maxConnections = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least one connection must be allowed.");
    }

    /// <summary>
    /// How long a receive on a server connection may wait for the peer's next bytes before the server closes that
    /// connection with <see cref="DisconnectReason.IdleTimeout"/>. It only counts while a read is waiting (a handler busy
    /// with its own work is not idle). Default <see cref="Timeout.InfiniteTimeSpan"/>: never.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative (other than infinite).</exception>
    public TimeSpan IdleTimeout
    {
        get => _idleTimeout;
        init => _idleTimeout = value == Timeout.InfiniteTimeSpan || value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Use a positive timeout or Timeout.InfiniteTimeSpan.");
    }

    /// <summary>
    /// How long a send on a server connection may stay blocked because the peer does not read (its receive buffer and
    /// the pipe's are full) before the server closes that connection with <see cref="DisconnectReason.WriteTimeout"/>;
    /// the blocked send then fails with <see cref="ConnectionClosedException"/>. It bounds one whole frame's write, so
    /// allow for the largest message at the slowest reader you accept. Default <see cref="Timeout.InfiniteTimeSpan"/>: never.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative (other than infinite).</exception>
    public TimeSpan WriteTimeout
    {
        get => _writeTimeout;
        init => _writeTimeout = value == Timeout.InfiniteTimeSpan || value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Use a positive timeout or Timeout.InfiniteTimeSpan.");
    }

    /// <summary>
    /// How long one frame may take to arrive in full, from its first byte, before the server closes the connection with
    /// <see cref="DisconnectReason.FrameTimeout"/>. Bounds a peer that trickles bytes just fast enough to never be idle
    /// (<see cref="IdleTimeout"/> restarts with every byte). Allow for the largest message at the slowest sender you accept.
    /// Default <see cref="Timeout.InfiniteTimeSpan"/>: never.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative (other than infinite).</exception>
    public TimeSpan FrameTimeout
    {
        get => _frameTimeout;
        init => _frameTimeout = value == Timeout.InfiniteTimeSpan || value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Use a positive timeout or Timeout.InfiniteTimeSpan.");
    }

    /// <summary>How long <see cref="PipeServer.DisposeAsync"/> (and a cancelled <see cref="PipeServer.RunAsync"/>) lets connections finish before closing them. Default 5 s.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative (other than infinite).</exception>
    public TimeSpan DrainTimeout
    {
        get => _drainTimeout;
        init => _drainTimeout = value == Timeout.InfiniteTimeSpan || value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Use a non-negative timeout or Timeout.InfiniteTimeSpan.");
    }
}
