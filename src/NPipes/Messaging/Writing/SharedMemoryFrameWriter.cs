using System.Diagnostics;
using System.Runtime.CompilerServices;
using NPipes.Transport;

namespace NPipes.Messaging.Writing;

/// <summary>
/// Sends payloads through shared memory (docs/shared-memory.md): waits until it owns the write side, writes what is
/// queued ahead of it (order is queue order), then sends a ring slot (§8) or, where files travel, a sealed file (§3,
/// within the in-flight budget of §3.4) with the descriptor frame in one sendmsg (the frame's remaining bytes, if any,
/// through the stream). Where the ring attaches with a frame of its own (§9), that frame is one write before the first
/// slot's. The send returns when the frame is written.
/// </summary>
internal sealed class SharedMemoryFrameWriter(IWriteSide queue, Stream stream, ISharedMemoryTransport transport, SharedMemoryOptions options)
{
    /// <summary>
    /// The longest pause between two looks at the socket's send queue while waiting (§3.4: from 1 ms to 50 ms). Pauses
    /// grow by 1 ms, not twofold: a reader that is busy, not stalled, empties the queue soon, and a doubled pause would
    /// leave it idle for as long again as it took.
    /// </summary>
    private const int LongestPause = 50;

    /// <summary>The longest watch of consumed before the first pause, in Stopwatch ticks: 0.5 ms (§8 Sending).</summary>
    private static readonly long LongestSpin = Stopwatch.Frequency / 2000;

    private readonly byte[] _frame = new byte[SharedMemoryDescriptor.FrameLength]; // used by the owner only
    private long _inFlight; // payload bytes sent through shared memory since the send queue was last seen empty
    private volatile bool _inFrame;
    private int _budgetWaits;
    private int _ringWaits;

    /// <summary>True while a descriptor frame has been partly written: an interruption now leaves the stream out of sync.</summary>
    public bool InFrame => _inFrame;

    /// <summary>The threshold and budget in force.</summary>
    public SharedMemoryOptions Options => options;

    /// <summary>How many ring slots have waited for room (tests).</summary>
    internal int RingWaits => Volatile.Read(ref _ringWaits);

    /// <summary>How many sends have waited at the budget (tests).</summary>
    internal int BudgetWaits => Volatile.Read(ref _budgetWaits);

    /// <summary>The connection's ring (§8).</summary>
    public RingSender Ring { get; } = new(transport, RingSender.CapacityFor(options.MaxInFlightBytes));

    /// <summary>Sends <paramref name="file"/> (kind 1), <paramref name="length"/> bytes whose CRC (0 with CRC off) is <paramref name="crc"/>. The caller disposes the file.</summary>
    public ValueTask WriteAsync(OutgoingSharedFile file, int length, uint crc, FrameOptions frameOptions, bool sync, CancellationToken cancellationToken) =>
        WriteCoreAsync(file, default, null, -1, length, crc, frameOptions, sync, cancellationToken);

    /// <summary>
    /// Sends a ring slot (kind 2; the caller holds <see cref="Ring"/>): with <paramref name="position"/> -1, a slot placed
    /// now, once the ring has room, and filled with <paramref name="payload"/> or <paramref name="text"/> encoded; else the
    /// slot at <paramref name="position"/>, already filled, whose CRC is <paramref name="crc"/>.
    /// </summary>
    public ValueTask WriteRingAsync(ReadOnlyMemory<byte> payload, string? text, long position, int length, uint crc, FrameOptions frameOptions, bool sync, CancellationToken cancellationToken) =>
        WriteCoreAsync(null, payload, text, position, length, crc, frameOptions, sync, cancellationToken);

    /// <summary>Waits until the ring has room for the slot at <paramref name="position"/> (§8: the same backoff as §3.4).</summary>
    /// <exception cref="SharedMemoryException">The receiver's consumed went backwards or past what was sent.</exception>
    /// <exception cref="ObjectDisposedException">The connection closed meanwhile.</exception>
    public async ValueTask WaitForRoomAsync(long position, int length, bool sync, CancellationToken cancellationToken)
    {
        if (Ring.HasRoom(position, length))
        {
            return;
        }
        Interlocked.Increment(ref _ringWaits);
        if (SpinForRoom(position, length))
        {
            return;
        }
        int pause = 1;
        while (!Ring.HasRoom(position, length))
        {
            cancellationToken.ThrowIfCancellationRequested();
            pause = await PauseAsync(pause, writable: false, sync, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Before the first pause: watches consumed for up to <see cref="LongestSpin"/> while a core is likely spare. A
    /// receiver that keeps up frees a slot's room within about the time it takes to copy one out (tens of microseconds
    /// per MiB), while the shortest pause is a millisecond, in which it would empty a ring cycled in the cache and then idle.
    /// </summary>
    private bool SpinForRoom(long position, int length)
    {
        if (!RingSender.CoreLikelySpare)
        {
            return false;
        }
        long until = Stopwatch.GetTimestamp() + LongestSpin;
        do
        {
            Thread.SpinWait(30);
            if (Ring.HasRoom(position, length))
            {
                return true;
            }
        }
        while (Stopwatch.GetTimestamp() < until);
        return false;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteCoreAsync(OutgoingSharedFile? file, ReadOnlyMemory<byte> payload, string? text, long position, int length, uint crc, FrameOptions frameOptions, bool sync, CancellationToken cancellationToken)
    {
        await queue.AcquireAsync(sync, cancellationToken).ConfigureAwait(false);
        try
        {
            await queue.WriteQueuedAsync(sync).ConfigureAwait(false);
            SharedMemoryDescriptor descriptor;
            if (file is not null)
            {
                await WithinBudgetAsync(length, sync, cancellationToken).ConfigureAwait(false);
                file.Seal();
                descriptor = new SharedMemoryDescriptor(length, crc);
            }
            else
            {
                if (position < 0)
                {
                    position = Ring.Place(length);
                    await WaitForRoomAsync(position, length, sync, cancellationToken).ConfigureAwait(false);
                    crc = Fill(Ring.Slot(position, length).Span, payload.Span, text, frameOptions);
                }
                descriptor = Ring.Describe(position, length, crc);
                if (Ring.PendingAttach is { } attach)
                {
                    // §9: the ring's own frame, one write (one pipe message) just before its first slot's.
                    SharedMemoryDescriptor.WriteFrame(_frame, attach, frameOptions);
                    await WriteRestAsync(0, sync, cancellationToken).ConfigureAwait(false);
                }
            }
            SharedMemoryDescriptor.WriteFrame(_frame, descriptor, frameOptions);
            int sent = 0;
            int pause = 1;
            while ((file is not null || descriptor.CarriesRing) && (sent = file is not null ? Files.TrySendWithFile(_frame, file) : Files.TrySendWithFile(_frame, Ring.File)) == 0)
            {
                pause = await PauseAsync(pause, writable: true, sync, cancellationToken).ConfigureAwait(false);
            }
            if (file is not null)
            {
                _inFlight += length;
            }
            else
            {
                Ring.Sent(position, length);
            }
            await WriteRestAsync(sent, sync, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Writes the frame in <c>_frame</c> from byte <paramref name="sent"/> on (the bytes before went with a file), in one write, counting it whole.</summary>
    private async ValueTask WriteRestAsync(int sent, bool sync, CancellationToken cancellationToken)
    {
        queue.AddEnqueued(_frame.Length);
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

    /// <summary>The transport's files: only a file, or a ring announced with its first slot, ever asks for them.</summary>
    private ISharedFileTransport Files => transport.Files ?? throw new InvalidOperationException("This transport carries no shared-memory files.");

    /// <summary>Writes the payload (or encodes the text) into the slot; the CRC of what is there when CRC is on, else 0.</summary>
    private static uint Fill(Span<byte> slot, ReadOnlySpan<byte> payload, string? text, FrameOptions frameOptions)
    {
        if (text is null)
        {
            return FrameCrc.CopyAndCompute(payload, slot, frameOptions.Crc);
        }
        frameOptions.Encoding.GetBytes(text, slot);
        return frameOptions.Crc ? FrameCodec.ComputeCrc(slot) : 0;
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
        while (Files.UnreadSendBytes != 0)
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
            Files.WaitWritable(pause);
        }
        else
        {
            Thread.Sleep(pause);
        }
        return Math.Min(pause + 1, LongestPause);
    }
}
