using NPipes.Transport;

namespace NPipes.Messaging.Writing;

/// <summary>
/// The sending side of the connection's ring (docs/shared-memory.md §8): where the next slot goes, how much the receiver
/// has consumed, and who may use the ring now. One message at a time holds the ring (<see cref="TryReserve"/>) from
/// placing its slot until its frame is written or it is abandoned, so slots are sent in the order they were placed; a
/// message that finds the ring held goes in a file of its own (kind 1; inline where no file travels, §9) instead of
/// waiting, so a caller holding an unsent <see cref="OutgoingMessage"/> never waits for itself. The ring is created on first use and unmapped when the
/// connection closes, but never while a message holds it (the holder may be writing into its slot).
/// </summary>
internal sealed class RingSender(ISharedMemoryTransport transport, long capacity)
{
    private readonly Lock _lock = new();
    private OutgoingRing? _ring;
    private bool _reserved;
    private volatile bool _closed;
    private bool _announced;
    private long _end;       // the end of the last slot sent
    private ulong _consumed; // the receiver's consumed, as last read
    private readonly Queue<(long From, long To)> _skips = new(); // moves up to a multiple of capacity not yet read past

    /// <summary>How much of the ring a sender whose receiver keeps up cycles through (§8 Positions).</summary>
    internal const long Window = 8L * 1024 * 1024;

    /// <summary>Tests: go back early whatever the load (the placement is then the same on every machine).</summary>
    internal static bool AssumeSpareCore { get; set; }

    /// <summary>Whether a wait for room may spin: the load average is under twice the cores (SpareCore; Linux only).</summary>
#if NET
    internal static bool CoreLikelySpare => SpareCore.Likely;
#else
    internal static bool CoreLikelySpare => false; // the load average is Linux's, whose shared memory is net10.0-only (§7)
#endif

    /// <summary>A ring's capacity for an in-flight budget: rounded up to 4096 bytes, at most 1 GiB (what a receiver accepts).</summary>
    public static long CapacityFor(long maxInFlightBytes) =>
        Math.Min(SharedMemoryDescriptor.MaxRingCapacity, (maxInFlightBytes + SharedMemoryDescriptor.RingControlLength - 1) / SharedMemoryDescriptor.RingControlLength * SharedMemoryDescriptor.RingControlLength);

    /// <summary>The data region's length.</summary>
    public long Capacity => capacity;

    /// <summary>The end of the last slot sent (tests).</summary>
    internal long End => _end;

    /// <summary>Whether the ring is mapped here (tests: unmapped once the connection is closed and no message holds it).</summary>
    internal bool IsMapped => Volatile.Read(ref _ring) is not null;

    /// <summary>Takes the ring for one message of <paramref name="length"/> bytes; false when it does not fit, another message holds the ring, or the connection is closed.</summary>
    public bool TryReserve(int length)
    {
        if (length > capacity)
        {
            return false;
        }
        lock (_lock)
        {
            if (_reserved || _closed)
            {
                return false;
            }
            _reserved = true;
            return true;
        }
    }

    /// <summary>Gives the ring back (sent or abandoned); unmaps it if the connection closed meanwhile.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _reserved = false;
            if (_closed)
            {
                Unmap();
            }
        }
    }

    /// <summary>The connection is closing: unmaps the ring now, or when its holder releases it.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            if (!_reserved)
            {
                Unmap();
            }
        }
    }

    /// <summary>
    /// Places a slot of <paramref name="length"/> bytes (the ring held): at the end of the last one, moved up to the next
    /// multiple of capacity when it would wrap or when the receiver has consumed everything (§8 Positions).
    /// </summary>
    /// <exception cref="SharedMemoryException">The receiver's consumed went backwards or past what was sent.</exception>
    /// <exception cref="IOException">The system refused to create the ring.</exception>
    public long Place(int length)
    {
        _ring ??= transport.CreateRing(capacity);
        long position = _end;
        long next = (position + capacity - 1) / capacity * capacity;
        long lag = _end - (long)ReadConsumed();
        if (lag == 0 || position % capacity + length > capacity || ReturnsEarly(position, length, lag) && HasRoom(next, length))
        {
            position = next;
        }
        return position;
    }

    /// <summary>
    /// Whether a slot at <paramref name="position"/> would leave the ring's first <see cref="Window"/> bytes while the
    /// receiver is close behind (at most half the window unread) and a wait for room may spin (a core is likely spare):
    /// then the sender goes back to the start (if it has room there now), so a receiver that keeps up reads pages still
    /// in the cache rather than the whole ring's (64 MiB by default, more than the build machine's 32 MiB last-level
    /// cache). Under load a wait sleeps a millisecond or more, in which the receiver would empty the window and idle:
    /// the whole ring then serves as the buffer.
    /// </summary>
    private bool ReturnsEarly(long position, int length, long lag)
    {
        long window = Math.Max(Window, 2L * length);
        return position % capacity + length > window && lag <= window / 2 && (AssumeSpareCore || CoreLikelySpare);
    }

    /// <summary>
    /// Whether the slot at <paramref name="position"/> overlaps no slot the receiver has not copied out (§8 Sending):
    /// everything sent has been consumed, or the slot's end minus the start of the oldest unread slot is at most
    /// capacity. That start is consumed, unless the sender moved up from there to a multiple of capacity: then where it
    /// moved to (the bytes skipped hold nothing; counting them would make a sender wait for room the ring has).
    /// </summary>
    /// <exception cref="SharedMemoryException">The receiver's consumed went backwards or past what was sent.</exception>
    /// <exception cref="ObjectDisposedException">The connection closed.</exception>
    public bool HasRoom(long position, int length)
    {
        ObjectDisposedException.ThrowIf(_closed, typeof(PipeConnection));
        long consumed = (long)ReadConsumed();
        if (consumed == _end)
        {
            _skips.Clear();
            return true;
        }
        while (_skips.Count > 0 && _skips.Peek().To <= consumed)
        {
            _skips.Dequeue();
        }
        long oldest = _skips.Count > 0 && _skips.Peek().From == consumed ? _skips.Peek().To : consumed;
        return position + length - oldest <= capacity;
    }

    /// <summary>The slot's memory (the ring held and the slot placed).</summary>
    public Memory<byte> Slot(long position, int length) => _ring!.Memory.Slice((int)(position % capacity), length);

    /// <summary>The descriptor of the slot; where files travel the first one carries the ring's file (flags bit 0, §8).</summary>
    public SharedMemoryDescriptor Describe(long position, int length, uint crc) =>
        new(length, crc, SharedMemoryDescriptor.KindRing, position, _announced || transport.Files is null ? 0 : SharedMemoryDescriptor.FlagRingFile);

    /// <summary>Before the first slot's frame, where the ring attaches with a frame of its own (§9): that frame's kind-3 descriptor; else null.</summary>
    public SharedMemoryDescriptor? PendingAttach => _announced ? null : _ring!.AttachDescriptor;

    /// <summary>The ring's file, for the frame that announces it.</summary>
    public OutgoingRing File => _ring!;

    /// <summary>The slot's frame went out: later slots follow it; after the first, the ring's descriptor is closed (the peer has its own).</summary>
    public void Sent(long position, int length)
    {
        if (position != _end)
        {
            _skips.Enqueue((_end, position));
        }
        _end = position + length;
        if (!_announced)
        {
            _announced = true;
            _ring!.CloseDescriptor();
        }
    }

    /// <summary>Reads consumed and checks it: never backwards, never past what was sent.</summary>
    private ulong ReadConsumed()
    {
        ulong consumed = _ring!.ReadConsumed();
        if (consumed < _consumed || consumed > (ulong)_end)
        {
            throw new SharedMemoryException($"The peer's ring is corrupt: its consumed position {consumed} is {(consumed < _consumed ? "behind the " + _consumed + " it had reached" : "past the " + _end + " bytes sent")}.");
        }
        _consumed = consumed;
        return consumed;
    }

    private void Unmap()
    {
        ((IDisposable?)Interlocked.Exchange(ref _ring, null))?.Dispose();
    }
}
