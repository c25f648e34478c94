using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace NPipes;

/// <summary>Options for a <see cref="PipeClient"/>. Immutable; share freely.</summary>
public sealed record PipeClientOptions
{
    /// <summary>Every default: reconnect automatically, 50 ms first delay doubling up to 5 s.</summary>
    public static PipeClientOptions Default { get; } = new();

    private readonly TimeSpan _initialDelay = TimeSpan.FromMilliseconds(50);
    private readonly TimeSpan _maxDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Connection options. Their <see cref="NPipesOptions.Timeout"/> bounds the first connect and how long an operation
    /// waits for a reconnection in progress (default infinite: use the operation's cancellation token).
    /// </summary>
    public NPipesOptions Connection { get; init; } = NPipesOptions.Default;

    /// <summary>
    /// Where the client (state changes, reconnect attempts) and its connections log (category "NPipes"); overrides <see cref="NPipesOptions.LoggerFactory"/>
    /// of <see cref="Connection"/>. Null (the default): that one, or no logging at no cost.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Makes the meter "NPipes" the client and its connections count on; overrides <see cref="NPipesOptions.MeterFactory"/>
    /// of <see cref="Connection"/>. Null (the default): that one, or the shared static meter.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>After an established connection is lost, reconnect in the background (default true). Nothing is ever re-sent.</summary>
    public bool AutoReconnect { get; init; } = true;

    /// <summary>The wait after the first failed reconnection attempt; each further failure doubles it, up to <see cref="MaxReconnectDelay"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan InitialReconnectDelay
    {
        get => _initialDelay;
        init => _initialDelay = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The delay must be positive.");
    }

    /// <summary>The cap on the wait between reconnection attempts.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan MaxReconnectDelay
    {
        get => _maxDelay;
        init => _maxDelay = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The delay must be positive.");
    }
}
