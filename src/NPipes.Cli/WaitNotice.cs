namespace NPipes.Cli;

/// <summary>
/// A wait that may last forever says so once: when the operation has not finished after <see cref="After"/> and standard
/// error is a terminal, one line "npipes: waiting for a server on 'NAME'..." (word for word as the Python CLI's,
/// python/npipes/_cli_wait.py). Scripts (stderr redirected) see nothing.
/// </summary>
internal static class WaitNotice
{
    /// <summary>How long a wait goes unremarked.</summary>
    public static readonly TimeSpan After = TimeSpan.FromSeconds(1.5);

    /// <summary>Awaits <paramref name="operation"/>, saying once that it waits for <paramref name="what"/> on <paramref name="pipe"/> if it takes a while.</summary>
    public static async Task<T> Around<T>(Task<T> operation, string pipe, string what = "a server")
    {
        if (!operation.IsCompleted && !Console.IsErrorRedirected)
        {
            using var stop = new CancellationTokenSource();
            Task delay = Task.Delay(After, stop.Token);
            if (await Task.WhenAny(operation, delay).ConfigureAwait(false) == delay)
            {
                await Console.Error.WriteLineAsync($"npipes: waiting for {what} on '{pipe}'...").ConfigureAwait(false);
            }
            await stop.CancelAsync().ConfigureAwait(false);
        }
        return await operation.ConfigureAwait(false);
    }

    /// <inheritdoc cref="Around{T}(Task{T}, string, string)"/>
    public static Task Around(Task operation, string pipe, string what) =>
        Around(operation.ContinueWith(t => { t.GetAwaiter().GetResult(); return true; }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default), pipe, what);
}
