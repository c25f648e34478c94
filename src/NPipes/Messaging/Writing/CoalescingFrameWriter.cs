using System.Runtime.CompilerServices;
using NPipes.Transport;

namespace NPipes.Messaging.Writing;

/// <summary>
/// Frame writer for byte-stream transports (Unix sockets): a send encodes its frame into the connection's
/// <see cref="SendQueue"/> and returns; one writer at a time (the background <see cref="QueueFlusher"/>, or a caller that
/// needs the bytes out now) writes everything queued with one write. Many small frames thus cost one system call instead
/// of one each, and the peer reads them in large chunks. Frame boundaries are unaffected (the stream has none); order is
/// queue order.
/// </summary>
/// <remarks>
/// <para>Backpressure: a send waits while the queue holds <see cref="SendQueue.QueueLimit"/> bytes. Payloads of at least
/// <see cref="DirectThreshold"/> bytes are not copied (<see cref="LargeFrameWriter"/>): the send returns when they are
/// written.</para>
/// <para>A failed background write is kept in <see cref="Failure"/>, reported to the connection (which closes with
/// <see cref="DisconnectReason.IOError"/>) and thrown by every later call.</para>
/// <para>Never used on a message-mode transport (<see cref="ITransportStream.IsMessageMode"/>): there every frame must be
/// one write.</para>
/// </remarks>
internal sealed class CoalescingFrameWriter : IQueuedFrameWriter
{
    /// <summary>Payloads at least this long are written in place rather than copied into the queue.</summary>
    public const int DirectThreshold = 32 * 1024;

    private readonly SendQueue _queue;
    private readonly LargeFrameWriter _large;

    /// <param name="stream">Where the bytes go (possibly a watching wrapper around the transport stream).</param>
    /// <param name="direct">The transport's non-blocking sends, or null.</param>
    /// <param name="onFailure">Called once, with the first write error.</param>
    /// <param name="sharedMemory">The transport's shared memory and its options when the connection has it on, else null.</param>
    public CoalescingFrameWriter(Stream stream, IDirectSend? direct, Action<Exception> onFailure, (ISharedMemoryTransport Transport, SharedMemoryOptions Options)? sharedMemory = null)
    {
        _queue = new SendQueue(stream, direct, onFailure);
        _large = new LargeFrameWriter(_queue, stream);
        if (sharedMemory is { } shm)
        {
            Shared = new SharedMemoryFrameWriter(_queue, stream, shm.Transport, shm.Options);
        }
    }

    /// <summary>The writer of shared-memory frames, when the connection has shared memory on.</summary>
    public SharedMemoryFrameWriter? Shared { get; }

    public bool InFrame => _large.InFrame || Shared is { InFrame: true };

    public Exception? Failure => _queue.Failure;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> payload, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        FrameCodec.CheckPayloadLength(payload.Length, options);
        if (payload.Length >= DirectThreshold)
        {
            return _large.WriteAsync(payload, options, sync, cancellationToken);
        }
        uint crc = options.Crc ? FrameCodec.ComputeCrc(payload.Span) : 0;
        return _queue.TryEnqueue(payload.Span, null, 0, crc, options) ? default : EnqueueSlowAsync(payload, null, 0, crc, options, sync, cancellationToken);
    }

    public ValueTask WriteTextAsync(string text, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        int byteCount = FrameCodec.GetByteCount(text, options);
        FrameCodec.CheckPayloadLength(byteCount, options);
        if (byteCount >= DirectThreshold)
        {
            return _large.WriteTextAsync(text, byteCount, options, sync, cancellationToken);
        }
        return _queue.TryEnqueue(default, text, byteCount, 0, options) ? default : EnqueueSlowAsync(default, text, byteCount, 0, options, sync, cancellationToken);
    }

    /// <summary>The queue is full: waits for room, as often as it takes.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask EnqueueSlowAsync(ReadOnlyMemory<byte> payload, string? text, int byteCount, uint crc, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        int frameLength = FrameCodec.Overhead + (text is null ? payload.Length : byteCount);
        while (!_queue.TryEnqueue(payload.Span, text, byteCount, crc, options))
        {
            await _queue.WaitAsync(WaitKind.Room, frameLength, sync, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gets what is queued moving now: with a direct send, one non-blocking send of the whole queue (the rest, if the
    /// transport is full, goes to the background flush), so a request or a read never waits here for the peer; without
    /// one, writes the queue through the stream.
    /// </summary>
    public ValueTask PushAsync(bool sync)
    {
        try
        {
            if (!_queue.Push())
            {
                return default;
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
        return PushAsOwnerAsync(sync);
    }

    public void AnswerDue() => _queue.AnswerDue();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PushAsOwnerAsync(bool sync)
    {
        try
        {
            await _queue.Flusher.WriteQueuedAsOwnerAsync(sync).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _queue.Fail(e);
            throw;
        }
        finally
        {
            _queue.Release();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync(bool sync, CancellationToken cancellationToken)
    {
        long target = _queue.FlushTarget();
        if (target < 0)
        {
            return;
        }
        await PushAsync(sync).ConfigureAwait(false);
        _queue.Schedule();
        await _queue.WaitAsync(WaitKind.Written, target, sync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes what is queued, giving up once no byte moved for a whole <paramref name="stall"/> (the peer is not reading). Never throws: the connection reports a failed write.</summary>
    public async ValueTask FlushForCloseAsync(bool sync, TimeSpan stall)
    {
        long target = _queue.CloseTarget();
        if (target < 0)
        {
            return;
        }
        long progress = -1;
        while (true)
        {
            long written = _queue.Written;
            if (written >= target || written == progress)
            {
                return;
            }
            progress = written;
            using var timer = new CancellationTokenSource(stall);
            try
            {
                await _queue.WaitAsync(WaitKind.Written, target, sync, timer.Token).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException)
            {
                // Check for progress and wait again.
            }
            catch (IOException)
            {
                return;
            }
        }
    }

    public void Close()
    {
        _queue.Close();
        Shared?.Ring.Close();
    }
}
