using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace System.Threading.Tasks;

/// <summary>
/// What .NET 5-6 added to tasks, timers and tokens, for netstandard2.0: ValueTask factories, Task.WaitAsync,
/// Timer.DisposeAsync, CancellationToken.UnsafeRegister, KeyValuePair deconstruction.
/// </summary>
[Embedded]
internal static class TaskPolyfills
{
    extension(ValueTask)
    {
        public static ValueTask CompletedTask => default;

        public static ValueTask<TResult> FromResult<TResult>(TResult result) => new(result);

        public static ValueTask FromException(Exception exception) => new(Task.FromException(exception));

        public static ValueTask<TResult> FromException<TResult>(Exception exception) => new(Task.FromException<TResult>(exception));

        public static ValueTask FromCanceled(CancellationToken cancellationToken) => new(Task.FromCanceled(cancellationToken));
    }

    extension(Task task)
    {
        public Task WaitAsync(CancellationToken cancellationToken) => task.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken);

        public Task WaitAsync(TimeSpan timeout) => task.WaitAsync(timeout, CancellationToken.None);

        public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            await WhenDoneAsync(task, timeout, cancellationToken).ConfigureAwait(false);
            await task.ConfigureAwait(false);
        }
    }

    extension<TResult>(Task<TResult> task)
    {
        public Task<TResult> WaitAsync(CancellationToken cancellationToken) => task.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken);

        public Task<TResult> WaitAsync(TimeSpan timeout) => task.WaitAsync(timeout, CancellationToken.None);

        public async Task<TResult> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            await WhenDoneAsync(task, timeout, cancellationToken).ConfigureAwait(false);
            return await task.ConfigureAwait(false);
        }
    }

    /// <summary>Returns when <paramref name="task"/> completes; throws <see cref="TimeoutException"/> or <see cref="OperationCanceledException"/> first if they come first.</summary>
    private static async Task WhenDoneAsync(Task task, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (task.IsCompleted || (timeout == Timeout.InfiniteTimeSpan && !cancellationToken.CanBeCanceled))
        {
            return;
        }
        cancellationToken.ThrowIfCancellationRequested();
        using var stopDelay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task delay = Task.Delay(timeout, stopDelay.Token);
        if (await Task.WhenAny(task, delay).ConfigureAwait(false) == task)
        {
            stopDelay.Cancel(); // the delay's timer goes now, not at the deadline
            return;
        }
        cancellationToken.ThrowIfCancellationRequested();
        throw new TimeoutException();
    }

    extension(Timer timer)
    {
        /// <summary>Disposes the timer and completes once no callback of it runs any more.</summary>
        public ValueTask DisposeAsync()
        {
            var done = new ManualResetEvent(false);
            if (!timer.Dispose(done))
            {
                done.Dispose(); // already disposed
                return default;
            }
            var completion = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            ThreadPool.RegisterWaitForSingleObject(done, static (state, _) => ((TaskCompletionSource<bool>)state!).TrySetResult(true), completion, Timeout.Infinite, executeOnlyOnce: true);
            return new ValueTask(completion.Task.ContinueWith(_ => done.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
        }
    }

    extension(CancellationToken token)
    {
        public CancellationTokenRegistration UnsafeRegister(Action<object?, CancellationToken> callback, object? state) =>
            token.Register(s => callback(s, token), state);
    }

    extension<TKey, TValue>(KeyValuePair<TKey, TValue> pair)
    {
        public void Deconstruct(out TKey key, out TValue value)
        {
            key = pair.Key;
            value = pair.Value;
        }
    }

    extension(IO.Stream stream)
    {
        /// <summary>Disposes the stream (netstandard2.0's Stream is not IAsyncDisposable).</summary>
        public ValueTask DisposeAsync()
        {
            stream.Dispose();
            return default;
        }
    }
}
