using System.Runtime.CompilerServices;
using NPipes.Transport;

namespace NPipes.Messaging.Writing;

/// <summary>
/// Sends a payload that is already in a shared-memory file (docs/shared-memory.md §3): waits until it owns the write
/// side, writes what is queued ahead of it (order is queue order), keeps to the in-flight budget (§3.4), seals the
/// file, then sends the descriptor frame with the file in one sendmsg (the frame's remaining bytes, if any, through the
/// stream). The send returns when the frame is written.
/// </summary>
internal sealed class SharedMemoryFrameWriter(SendQueue queue, Stream stream, ISharedMemoryTransport transport, SharedMemoryOptions options)
{
    /// <summary>
    /// The longest pause between two looks at the socket's send queue while waiting (§3.4: from 1 ms to 50 ms). Pauses
    /// grow by 1 ms, not twofold: a reader that is busy, not stalled, empties the queue soon, and a doubled pause would
    /// leave it idle for as long again as it took.
    /// </summary>
    private const int LongestPause = 50;

    private readonly byte[] _frame = new byte[SharedMemoryDescriptor.FrameLength]; // used by the owner only
    private long _inFlight; // payload bytes sent through shared memory since the send queue was last seen empty
    private volatile bool _inFrame;
    private int _budgetWaits;

    /// <summary>True while a descriptor frame has been partly written: an interruption now leaves the stream out of sync.</summary>
    public bool InFrame => _inFrame;

    /// <summary>The threshold and budget in force.</summary>
    public SharedMemoryOptions Options => options;

    /// <summary>How many sends have waited at the budget (tests).</summary>
    internal int BudgetWaits => Volatile.Read(ref _budgetWaits);

    /// <summary>Sends <paramref name="file"/>, <paramref name="length"/> bytes whose CRC (0 with CRC off) is <paramref name="crc"/>. The caller disposes the file.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(OutgoingSharedFile file, int length, uint crc, FrameOptions frameOptions, bool sync, CancellationToken cancellationToken)
    {
        while (!queue.TryAcquire())
        {
            await queue.WaitAsync(WaitKind.Idle, 0, sync, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await queue.Flusher.WriteQueuedAsOwnerAsync(sync).ConfigureAwait(false);
            await WithinBudgetAsync(length, sync, cancellationToken).ConfigureAwait(false);
            file.Seal();
            SharedMemoryDescriptor.WriteFrame(_frame, length, crc, frameOptions);
            queue.AddEnqueued(_frame.Length);
            int sent;
            int pause = 1;
            while ((sent = transport.TrySendWithFile(_frame, file)) == 0)
            {
                pause = await PauseAsync(pause, writable: true, sync, cancellationToken).ConfigureAwait(false);
            }
            _inFlight += length;
            if (sent < _frame.Length)
            {
                _inFrame = true;
                if (sync)
                {
                    stream.Write(_frame, sent, _frame.Length - sent);
                }
                else
                {
                    await stream.WriteAsync(_frame.AsMemory(sent), cancellationToken).ConfigureAwait(false);
                }
                _inFrame = false;
            }
            queue.AddWritten(_frame.Length);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            queue.Fail(e);
            throw;
        }
        finally
        {
            queue.Release();
        }
    }

    /// <summary>
    /// §3.4: before a send that would take the in-flight count above the budget, waits until the peer has read everything
    /// sent (SIOCOUTQ is 0), then counts from zero.
    /// </summary>
    private async ValueTask WithinBudgetAsync(int length, bool sync, CancellationToken cancellationToken)
    {
        if (_inFlight + length <= options.MaxInFlightBytes)
        {
            return;
        }
        int pause = 1;
        bool counted = false;
        while (transport.UnreadSendBytes != 0)
        {
            if (!counted)
            {
                counted = true;
                Interlocked.Increment(ref _budgetWaits);
            }
            pause = await PauseAsync(pause, writable: false, sync, cancellationToken).ConfigureAwait(false);
        }
        _inFlight = 0;
    }

    /// <summary>Waits <paramref name="pause"/> ms (a synchronous wait for room returns as soon as the socket has some) and returns the next pause.</summary>
    private async ValueTask<int> PauseAsync(int pause, bool writable, bool sync, CancellationToken cancellationToken)
    {
        if (!sync)
        {
            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
        }
        else if (writable)
        {
            transport.WaitWritable(pause);
        }
        else
        {
            Thread.Sleep(pause);
        }
        return Math.Min(pause + 1, LongestPause);
    }
}
