using System.Buffers;
using System.Runtime.CompilerServices;
using NPipes.Messaging;

namespace NPipes;

// Receiving: one reader at a time, through the connection's FrameReader. A frame error or an interruption mid-frame
// closes the connection (the stream has lost frame sync).
public sealed partial class PipeConnection
{
    private const int Idle = 0;
    private const int Reading = 1;
    private const int ReaderReleased = 2; // closed, and the reader's pooled buffer returned

    /// <summary>Receives the next message, or null when the peer closed cleanly between frames. Dispose the message to recycle its buffer.</summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if part of a frame had been read the connection is closed.</exception>
    /// <exception cref="InvalidOperationException">Another receive is in progress.</exception>
    public ValueTask<PipeMessage?> ReceiveAsync(CancellationToken cancellationToken = default) => ReceiveCoreAsync(sync: false, cancellationToken);

    /// <summary>
    /// Receives the next message's payload into <paramref name="destination"/> (appended and advanced past, as an
    /// <see cref="IBufferWriter{T}"/> does) and returns its length, or -1 when the peer closed cleanly between frames.
    /// With a reused writer (for example an <see cref="ArrayBufferWriter{T}"/> whose written count is reset per message)
    /// receiving allocates nothing. Errors and the one-reader rule are as for <see cref="ReceiveAsync"/>; on an error
    /// nothing is advanced.
    /// </summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if part of a frame had been read the connection is closed.</exception>
    /// <exception cref="InvalidOperationException">Another receive is in progress.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveIntoAsync(IBufferWriter<byte> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return (await ReceiveFrameAsync(destination, sync: false, cancellationToken).ConfigureAwait(false)).Length;
    }

    /// <summary>
    /// Synchronous twin of <see cref="ReceiveIntoAsync"/>: the same operation, reading on the calling thread until a
    /// message or the end arrives; no cancellation token.
    /// </summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    public int ReceiveInto(IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return SyncTwin.Wait(ReceiveFrameAsync(destination, sync: true, default)).Length;
    }

    /// <summary>
    /// Synchronous twin of <see cref="ReceiveAsync"/>: the same operation, reading on the calling thread until a message
    /// or the end arrives; no cancellation token.
    /// </summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    public PipeMessage? Receive() => SyncTwin.Wait(ReceiveCoreAsync(sync: true, default));

    /// <summary>Receives the next message as text, or null when the peer closed cleanly between frames.</summary>
    /// <exception cref="InvalidTextException">The payload is not valid in the configured encoding (the connection stays open).</exception>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    public async ValueTask<string?> ReceiveTextAsync(CancellationToken cancellationToken = default)
    {
        using PipeMessage? message = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
        return message?.GetText();
    }

    /// <summary>
    /// Synchronous twin of <see cref="ReceiveTextAsync"/>: the same operation, reading on the calling thread; no
    /// cancellation token.
    /// </summary>
    /// <exception cref="InvalidTextException">The payload is not valid in the configured encoding (the connection stays open).</exception>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    public string? ReceiveText()
    {
        using PipeMessage? message = Receive();
        return message?.GetText();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PipeMessage?> ReceiveCoreAsync(bool sync, CancellationToken cancellationToken)
    {
        FrameReader.Frame frame = await ReceiveFrameAsync(null, sync, cancellationToken).ConfigureAwait(false);
        return frame.Length < 0 ? null : frame.ToMessage(Options.Frame);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FrameReader.Frame> ReceiveFrameAsync(IBufferWriter<byte>? destination, bool sync, CancellationToken cancellationToken)
    {
        int state = Interlocked.CompareExchange(ref _reading, Reading, Idle);
        if (state == Reading)
        {
            throw new InvalidOperationException("Another receive is in progress: a connection has one reader at a time.");
        }
        if (state == ReaderReleased)
        {
            // Closed, and the reader's buffer is back in the pool.
            return DisconnectReason == DisconnectReason.PeerClosed ? new FrameReader.Frame(null, -1, 0) : throw ClosedException();
        }
        try
        {
            if (DisconnectReason == DisconnectReason.PeerClosed)
            {
                return new FrameReader.Frame(null, -1, 0);
            }
            ThrowIfClosed();
            // Frames queued by earlier sends go out before this read can wait for the peer (who may be waiting for them).
            if (_queue is not null)
            {
                await _queue.PushAsync(sync).ConfigureAwait(false);
            }
            FrameReader.Frame frame = await _reader.ReadFrameAsync(Options.Frame, destination, sync, cancellationToken).ConfigureAwait(false);
            Telemetry.Received(frame.Length);
            if (frame.Length < 0)
            {
                Close(DisconnectReason.PeerClosed);
                ThrowIfClosedLocally(DisconnectReason.PeerClosed, null);
            }
            else if (_reader.Drained)
            {
                _queue?.AnswerDue();
            }
            return frame;
        }
        catch (FrameException e)
        {
            Close(e is IncompleteFrameException ? DisconnectReason.PeerDiedMidFrame : DisconnectReason.ProtocolError);
            if (e is IncompleteFrameException)
            {
                ThrowIfClosedLocally(DisconnectReason.PeerDiedMidFrame, e);
            }
            Telemetry.FrameError(e);
            throw;
        }
        catch (OperationCanceledException) when (_reader.InFrame)
        {
            Close(DisconnectReason.Aborted);
            throw;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(_reader.InFrame ? DisconnectReason.PeerDiedMidFrame : DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, e);
        }
        finally
        {
            // A full fence (not a plain write), so that this read of the reason cannot move before the write of Idle:
            // either Close sees Idle and releases the reader, or this sees the close and does.
            Interlocked.Exchange(ref _reading, Idle);
            if (!IsConnected)
            {
                ReleaseReader();
            }
        }
    }

    /// <summary>Whether the reader's pooled buffer has gone back to the pool (tests).</summary>
    internal bool IsReaderReturned => Volatile.Read(ref _reading) == ReaderReleased;

    /// <summary>Returns the reader's pooled buffer once the connection is closed and no receive is using it.</summary>
    private void ReleaseReader()
    {
        if (Interlocked.CompareExchange(ref _reading, ReaderReleased, Idle) == Idle)
        {
            _reader.Dispose();
        }
    }
}
