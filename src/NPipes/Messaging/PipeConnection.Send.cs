using System.Runtime.CompilerServices;
using NPipes.Transport;
using NPipes.Messaging;

namespace NPipes;

// Sending: frames go to the connection's writer, which either writes each one before returning (message pipes) or
// queues it for few large writes (byte streams); see the delivery contract on the class.
public sealed partial class PipeConnection
{
    /// <summary>
    /// Sends one binary message: completes once the frame is queued in order on the connection (on Unix; see the
    /// delivery contract in the remarks of <see cref="PipeConnection"/>). The payload may be reused as soon as this completes.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed, broke during the write, or an earlier queued write failed (the inner exception says how).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if the frame was partly written the connection is closed.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        SendCoreAsync(payload, null, push: false, sync: false, cancellationToken);

    /// <summary>
    /// Waits until every message sent before this call has been written to the pipe (handed to the operating system).
    /// Sends are queued and written in the background on Unix; this is how to know they went out. A no-op on Windows.
    /// </summary>
    /// <exception cref="ConnectionClosedException">The connection is closed, or a queued write failed (the inner exception says how).</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; what is queued stays queued.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        if (_queue is null)
        {
            return;
        }
        try
        {
            await _queue.FlushAsync(sync: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, _queue.Failure ?? e);
        }
    }

    /// <summary>
    /// Synchronous twin of <see cref="FlushAsync"/>: the same operation, writing on the calling thread until it completes;
    /// no cancellation token.
    /// </summary>
    /// <exception cref="ConnectionClosedException">The connection is closed, or a queued write failed.</exception>
    public void Flush()
    {
        ThrowIfClosed();
        if (_queue is null)
        {
            return;
        }
        try
        {
            SyncTwin.Wait(_queue.FlushAsync(sync: true, CancellationToken.None));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, _queue.Failure ?? e);
        }
    }

    /// <summary>Sends one text message in the configured encoding.</summary>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    /// <exception cref="FrameTooLargeException">The encoded text exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public ValueTask SendAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SendCoreAsync(default, text, push: false, sync: false, cancellationToken);
    }

    /// <summary>
    /// Synchronous twin of <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>: the same operation and
    /// completion rule, writing on the calling thread; no cancellation token.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public void Send(ReadOnlyMemory<byte> payload) => SyncTwin.Wait(SendCoreAsync(payload, null, push: false, sync: true, default));

    /// <summary>
    /// Synchronous twin of <see cref="SendAsync(string, CancellationToken)"/>: the same operation and completion rule,
    /// writing on the calling thread; no cancellation token.
    /// </summary>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public void Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        SyncTwin.Wait(SendCoreAsync(default, text, push: false, sync: true, default));
    }

    /// <summary>Writes or queues one frame; <paramref name="push"/> (requests) gets it moving at once instead of on the background flush.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendCoreAsync(ReadOnlyMemory<byte> payload, string? text, bool push, bool sync, CancellationToken cancellationToken, OutgoingSharedFile? file = null, (long Position, int Length, uint Crc)? slot = null)
    {
        ThrowIfClosed();
        try
        {
            if ((file is not null || slot is not null || SharedLength(payload, text) > 0)
                && await SendSharedAsync(file, slot, payload, text, sync, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            if (text is null)
            {
                await _writer.WriteAsync(payload, Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _writer.WriteTextAsync(text, Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            }
            if (push && _queue is not null)
            {
                await _queue.PushAsync(sync).ConfigureAwait(false);
            }
            Telemetry.Sent(payload, text, Options.Frame);
        }
        catch (OperationCanceledException) when (_writer.InFrame)
        {
            Close(DisconnectReason.Aborted);
            throw;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, _queue?.Failure ?? e);
        }
    }
}
