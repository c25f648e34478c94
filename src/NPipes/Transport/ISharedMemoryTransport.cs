using System.Buffers;

namespace NPipes.Transport;

/// <summary>
/// Shared memory on a connected pipe (docs/shared-memory.md): the connection's ring (§8), on every platform that has
/// it, plus the files of <see cref="Files"/> where the transport can hand files over. Offered by the Linux socket stream
/// of the net10.0 build and the Windows pipe stream of both builds (<see cref="ITransportStream.SharedMemory"/>); absent
/// elsewhere.
/// The two differ in what Messaging asks here, never in the OS: whether files travel (kind 1, and the ring's file with
/// its first slot's frame, flags bit 0), or the ring attaches with a frame of its own (kind 3, §9).
/// </summary>
internal interface ISharedMemoryTransport
{
    /// <summary>
    /// Files handed over with their frames (Linux). Null where none can travel (Windows, §9): no kind 1 is sent, a payload
    /// that finds no room in the ring goes inline, the ring attaches with a kind-3 frame of its own
    /// (<see cref="OutgoingRing.AttachDescriptor"/>), kind 1 and kind-2 flags bit 0 are refused, and reads are the stream's.
    /// </summary>
    ISharedFileTransport? Files { get; }

    /// <summary>A new ring of <paramref name="capacity"/> data bytes (a multiple of 4096), mapped writable (§8; §9).</summary>
    /// <exception cref="IOException">The system refused (out of memory, too many files or handles).</exception>
    OutgoingRing CreateRing(long capacity);

    /// <summary>
    /// Attaches the peer's ring: with <see cref="Files"/>, the kind-2 frame with flags bit 0 that starts at
    /// <paramref name="frameStart"/> takes its file and checks its size and seals (§8); without, the kind-3
    /// <paramref name="descriptor"/> names the section to take out of the peer's process and check (§9 steps 1-4). Either
    /// way the data region is mapped read-only and the control page writable, and nothing else is kept open.
    /// </summary>
    /// <exception cref="SharedMemoryException">A check failed (the message names it); nothing is left mapped or open.</exception>
    IncomingRing TakeRing(long frameStart, SharedMemoryDescriptor descriptor);
}

/// <summary>
/// A sender's ring (docs/shared-memory.md §8): <see cref="MemoryManager{T}.GetSpan"/> is the data region, mapped
/// writable; the control page's <c>consumed</c> is read with <see cref="ReadConsumed"/>. Disposal unmaps and closes.
/// </summary>
internal abstract class OutgoingRing : MemoryManager<byte>
{
    /// <summary>The data region's length.</summary>
    public abstract int Capacity { get; }

    /// <summary>
    /// The kind-3 descriptor that announces the ring in a frame of its own, sent just before its first slot's frame
    /// (§9); null where the ring's file goes with that frame instead (§8, flags bit 0).
    /// </summary>
    public abstract SharedMemoryDescriptor? AttachDescriptor { get; }

    /// <summary>The receiver's <c>consumed</c>: one aligned 8-byte load.</summary>
    public abstract ulong ReadConsumed();

    /// <summary>The peer has the ring (its first slot's frame went out): closes what only served to hand it over.</summary>
    public abstract void CloseDescriptor();
}

/// <summary>
/// A receiver's ring (§8): the data region mapped read-only, the control page writable (<see cref="StoreConsumed"/>).
/// The platform's class maps both and says how to unmap them; disposal unmaps both.
/// </summary>
internal abstract unsafe class IncomingRing : IDisposable
{
    private nint _control;
    private nint _data;

    /// <param name="control">The control page, mapped writable.</param>
    /// <param name="data">The data region's first byte, mapped read-only.</param>
    /// <param name="capacity">The data region's length.</param>
    protected IncomingRing(nint control, nint data, int capacity)
    {
        _control = control;
        _data = data;
        Capacity = capacity;
    }

    /// <summary>The data region's length.</summary>
    public int Capacity { get; }

    /// <summary>The data region (valid until disposal; the sender may change it at any time).</summary>
    public ReadOnlySpan<byte> Data => _data != 0 ? new ReadOnlySpan<byte>((void*)_data, Capacity) : throw new ObjectDisposedException(GetType().Name);

    /// <summary>Stores <c>consumed</c>: one aligned 8-byte little-endian store, after the copy it releases.</summary>
    public void StoreConsumed(ulong end)
    {
        ObjectDisposedException.ThrowIf(_control == 0, this);
        Volatile.Write(ref *(ulong*)_control, BitConverter.IsLittleEndian ? end : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(end));
    }

    /// <summary>Unmaps both (once).</summary>
    public void Dispose()
    {
        nint data = Interlocked.Exchange(ref _data, IntPtr.Zero);
        nint control = Interlocked.Exchange(ref _control, IntPtr.Zero);
        if (data != 0 || control != 0)
        {
            Unmap(control, data);
        }
    }

    /// <summary>Unmaps the control page and the data region given to the constructor (either may be 0: already gone).</summary>
    protected abstract void Unmap(nint control, nint data);
}
