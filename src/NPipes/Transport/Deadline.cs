using System.Diagnostics;

namespace NPipes.Transport;

/// <summary>A point in time (monotonic clock) by which an operation must finish; <see cref="Timeout.InfiniteTimeSpan"/> never expires.</summary>
internal readonly struct Deadline
{
    private readonly long _expiresAt; // Stopwatch ticks; long.MaxValue for never

    private Deadline(long expiresAt, TimeSpan timeout)
    {
        _expiresAt = expiresAt;
        Timeout = timeout;
    }

    /// <summary>The timeout this deadline was made from, for error messages.</summary>
    public TimeSpan Timeout { get; }

    public static Deadline After(TimeSpan timeout)
    {
        if (timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return new Deadline(long.MaxValue, timeout);
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        return new Deadline(Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency), timeout);
    }

    public bool IsInfinite => _expiresAt == long.MaxValue;

    public bool HasExpired => !IsInfinite && Stopwatch.GetTimestamp() >= _expiresAt;

    /// <summary>Time left, never negative; infinite for an infinite deadline.</summary>
    public TimeSpan Remaining => IsInfinite
        ? System.Threading.Timeout.InfiniteTimeSpan
        : TimeSpan.FromSeconds(Math.Max(0, _expiresAt - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);

    /// <summary>A token that fires at the deadline or when <paramref name="token"/> does. Dispose the source.</summary>
    public CancellationTokenSource? Link(CancellationToken token, out CancellationToken linked)
    {
        if (IsInfinite)
        {
            linked = token;
            return null;
        }
        var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
        cts.CancelAfter(Remaining);
        linked = cts.Token;
        return cts;
    }

    public TimeoutException Expired(string what) => new($"{what} did not complete within {Timeout.TotalSeconds:0.###} s.");
}
