using NPipes.Messaging;

namespace NPipes;

// Stopping (release the name, drain, close what is left) and the watchdog that closes idle, stalled or trickling connections.
public sealed partial class PipeServer
{
    /// <summary>
    /// Stops gracefully: fires <see cref="Stopping"/> before returning, stops accepting and releases the name as soon as an
    /// accept in progress has ended (promptly), lets connections finish for up to <paramref name="drainTimeout"/>, then closes the rest (their pending I/O fails with
    /// <see cref="ConnectionClosedException"/>, reason <see cref="DisconnectReason.LocalClose"/>) and waits for handlers to
    /// return. Calling it again returns the same stop. Do not await it from inside a handler: the stop waits for that
    /// handler to return (fire it and return instead).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; the stop carries on in the background.</exception>
    public Task StopAsync(TimeSpan drainTimeout, CancellationToken cancellationToken = default)
    {
        if (drainTimeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(drainTimeout, TimeSpan.Zero);
        }
        Task? stop = Volatile.Read(ref _stopTask);
        if (stop is null)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            stop = Interlocked.CompareExchange(ref _stopTask, done.Task, null) ?? done.Task;
            if (stop == done.Task)
            {
                // The first caller starts the stop on its own thread, outside any lock, so Stopping has fired when this returns.
                _ = RunStopAsync(drainTimeout, done);
            }
        }
        return stop.WaitAsync(cancellationToken);
    }

    /// <summary>Stops with <see cref="PipeServerOptions.DrainTimeout"/>; see <see cref="StopAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await StopAsync(Options.DrainTimeout, CancellationToken.None).ConfigureAwait(false);

    private async Task RunStopAsync(TimeSpan drainTimeout, TaskCompletionSource done)
    {
        try
        {
            await StopCoreAsync(drainTimeout).ConfigureAwait(false);
            done.SetResult();
        }
        catch (Exception e)
        {
            done.SetException(e);
        }
    }

    private async Task StopCoreAsync(TimeSpan drainTimeout)
    {
        try
        {
            _stopping.Cancel();
        }
        catch (AggregateException e)
        {
            ReportError(null, e);
        }
        // Release the name as soon as an accept in progress has seen the cancellation (disposing under it could leave a
        // Windows instance created after the dispose, holding the name).
        await _acceptLock.WaitAsync().ConfigureAwait(false);
        _listener.Dispose();
        _acceptLock.Release();
        if (Volatile.Read(ref _running) == 1)
        {
            await _acceptLoopDone.Task.ConfigureAwait(false);
        }
        if (_connections.IsEmpty)
        {
            _drained.TrySetResult();
        }
        try
        {
            await _drained.Task.WaitAsync(drainTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Deadline passed: close what is left below.
            _telemetry.DrainDeadlinePassed(_connections.Count);
        }
        _aborting.Cancel();
        foreach (PipeConnection connection in _connections.Keys)
        {
            connection.Dispose();
        }
        await Task.WhenAll(_handlers.Values).ConfigureAwait(false); // handlers catch their own errors, so this never throws
        if (_watchdog is not null)
        {
            await _watchdog.DisposeAsync().ConfigureAwait(false);
        }
        _telemetry.Stopped();
    }

    private void CloseIdleConnections()
    {
        foreach ((PipeConnection connection, IdleWatchStream? watch) in _connections)
        {
            if (Options.FrameTimeout != Timeout.InfiniteTimeSpan && connection.FrameInProgress >= Options.FrameTimeout)
            {
                connection.CloseWith(DisconnectReason.FrameTimeout);
                continue;
            }
            if (watch is null)
            {
                continue;
            }
            if (Options.IdleTimeout != Timeout.InfiniteTimeSpan && watch.ReadWaiting >= Options.IdleTimeout)
            {
                connection.CloseWith(DisconnectReason.IdleTimeout);
            }
            else if (Options.WriteTimeout != Timeout.InfiniteTimeSpan && watch.WriteWaiting >= Options.WriteTimeout)
            {
                connection.CloseWith(DisconnectReason.WriteTimeout);
            }
        }
    }
}
