using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace NPipes.Messaging.Writing;

/// <summary>What a caller of the send queue waits for.</summary>
internal enum WaitKind
{
    /// <summary>Room in the queue for a frame of the given length.</summary>
    Room,

    /// <summary>The given count of bytes written to the stream.</summary>
    Written,

    /// <summary>Nobody owning the write side.</summary>
    Idle,
}

/// <summary>
/// Callers waiting for the <see cref="SendQueue"/> to change, woken by <see cref="SignalLocked"/> whenever it does.
/// Asynchronous waiters are pooled value-task sources (no allocation in steady state); synchronous ones wait on the
/// queue's lock with <see cref="Monitor"/>. Conditions are checked under the queue's lock, so no wake-up is lost.
/// </summary>
internal sealed class WaitList(SendQueue queue)
{
    private readonly object _gate = queue.Gate;
    private readonly List<Waiter> _waiters = [];
    private readonly Stack<Waiter> _idle = new();
    private int _syncWaiters;

    /// <summary>Wakes every waiter to check its condition again (the caller holds the queue's lock).</summary>
    public void SignalLocked()
    {
        if (_syncWaiters > 0)
        {
            Monitor.PulseAll(_gate);
        }
        if (_waiters.Count > 0)
        {
            foreach (Waiter waiter in _waiters)
            {
                waiter.Wake(); // continuations run asynchronously, never under this lock
            }
            _waiters.Clear();
        }
    }

    /// <summary>Waits until the queue meets <paramref name="kind"/>; throws if the queue fails or <paramref name="cancellationToken"/> fires first.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WaitAsync(WaitKind kind, long value, bool sync, CancellationToken cancellationToken)
    {
        if (sync)
        {
            WaitSync(kind, value, cancellationToken);
            return;
        }
        while (true)
        {
            Waiter waiter;
            lock (_gate)
            {
                if (queue.IsMetLocked(kind, value))
                {
                    return;
                }
                queue.ThrowIfFailedLocked();
                cancellationToken.ThrowIfCancellationRequested();
                waiter = _idle.Count > 0 ? _idle.Pop() : new Waiter(this);
                _waiters.Add(waiter);
            }
            CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter)
                : default;
            try
            {
                await new ValueTask(waiter, waiter.Version).ConfigureAwait(false);
            }
            finally
            {
                registration.Dispose();
                waiter.Recycle();
            }
        }
    }

    private void WaitSync(WaitKind kind, long value, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            while (!queue.IsMetLocked(kind, value))
            {
                queue.ThrowIfFailedLocked();
                cancellationToken.ThrowIfCancellationRequested();
                _syncWaiters++;
                try
                {
                    // A cancellable wait re-checks its token every 50 ms (a token cannot pulse the monitor).
                    Monitor.Wait(_gate, cancellationToken.CanBeCanceled ? 50 : Timeout.Infinite);
                }
                finally
                {
                    _syncWaiters--;
                }
            }
        }
    }

    /// <summary>One pooled asynchronous wait: completed once, by a wake-up or a cancellation, then recycled.</summary>
    private sealed class Waiter(WaitList list) : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
        private int _done;

        public short Version => _core.Version;

        public void Wake()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                _core.SetResult(true);
            }
        }

        public void Cancel(CancellationToken token)
        {
            lock (list._gate)
            {
                list._waiters.Remove(this);
            }
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                _core.SetException(new OperationCanceledException(token));
            }
        }

        /// <summary>Back to the pool, once the await has consumed the result and the cancellation registration is gone.</summary>
        public void Recycle()
        {
            _core.Reset();
            _done = 0;
            lock (list._gate)
            {
                list._idle.Push(this);
            }
        }

        public void GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
