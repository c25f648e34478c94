using System.Diagnostics;

namespace NPipes.Transport;

/// <summary>
/// A point in time (monotonic clock) by which an operation must finish; <see cref="Timeout.InfiniteTimeSpan"/> never
/// expires. Any timeout from zero up is honoured: one past the clock's range (about 292 years) never expires, and one
/// longer than a timer can run at once (about 24.8 days) is timed in steps (docs/reliability.md, "Timeouts").
/// </summary>
internal readonly struct Deadline
{
    /// <summary>The longest a single timer is set for; a longer wait re-arms it (timers refuse more than about 49.7 days).</summary>
    internal static readonly TimeSpan LongestTimer = TimeSpan.FromMilliseconds(int.MaxValue);

    private readonly long _expiresAt; // Stopwatch ticks; long.MaxValue for never

    private Deadline(long expiresAt, TimeSpan timeout)
    {
        _expiresAt = expiresAt;
        Timeout = timeout;
    }

    /// <summary>The timeout this deadline was made from, for error messages.</summary>
    public TimeSpan Timeout { get; }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public static Deadline After(TimeSpan timeout)
    {
        if (timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return new Deadline(long.MaxValue, timeout);
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        long now = Stopwatch.GetTimestamp();
        // In double: TimeSpan.MaxValue at a 1 GHz clock is far beyond long (that overflow once made 1e10 s expire at once).
        double ticks = timeout.TotalSeconds * Stopwatch.Frequency;
        return ticks >= long.MaxValue - now ? new Deadline(long.MaxValue, timeout) : new Deadline(now + (long)ticks, timeout);
    }

    public bool IsInfinite => _expiresAt == long.MaxValue;

    public bool HasExpired => !IsInfinite && Stopwatch.GetTimestamp() >= _expiresAt;

    /// <summary>Time left, never negative; infinite for an infinite deadline.</summary>
    public TimeSpan Remaining => IsInfinite
        ? System.Threading.Timeout.InfiniteTimeSpan
        : TimeSpan.FromSeconds(Math.Max(0, _expiresAt - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);

    /// <summary>A token that fires at the deadline or when <paramref name="token"/> does; null (and <paramref name="token"/>) when the deadline is infinite. Dispose the source.</summary>
    public CancellationTokenSource? Link(CancellationToken token, out CancellationToken linked)
    {
        if (IsInfinite)
        {
            linked = token;
            return null;
        }
        TimeSpan left = Remaining;
        CancellationTokenSource cts = left <= LongestTimer ? CancellationTokenSource.CreateLinkedTokenSource(token) : new SteppedSource(this, token);
        if (left <= LongestTimer)
        {
            cts.CancelAfter(left);
        }
        linked = cts.Token;
        return cts;
    }

    public TimeoutException Expired(string what) => new($"{what} did not complete within {Timeout.TotalSeconds:0.###} s.");

    /// <summary>Cancels at a deadline further away than one timer can wait: the timer is re-armed until the deadline.</summary>
    private sealed class SteppedSource : CancellationTokenSource
    {
        private readonly Deadline _deadline;
        private readonly Timer _timer;
        private readonly CancellationTokenRegistration _link;

        public SteppedSource(Deadline deadline, CancellationToken token)
        {
            _deadline = deadline;
            _link = token.Register(static s => ((SteppedSource)s!).TryCancel(), this);
            _timer = new Timer(static s => ((SteppedSource)s!).Step(), this, LongestTimer, System.Threading.Timeout.InfiniteTimeSpan);
        }

        private void Step()
        {
            TimeSpan left = _deadline.Remaining;
            if (left <= TimeSpan.Zero)
            {
                TryCancel();
                return;
            }
            try
            {
                _timer.Change(left < LongestTimer ? left : LongestTimer, System.Threading.Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // Disposed meanwhile: nobody waits any more.
            }
        }

        private void TryCancel()
        {
            try
            {
                Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disposed meanwhile: nobody waits any more.
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _timer.Dispose();
                _link.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
