using System.Buffers;
using System.Buffers.Binary;

namespace NPipes.Transport;

/// <summary>
/// A sender's ring (docs/shared-memory.md §8): a memfd of 4096 + capacity bytes, sealed against shrinking, growing and
/// further seals (not writing: the receiver writes <c>consumed</c> into the control page), mapped writable once. The
/// pages are faulted in on first use, not populated: a ring that only ever carries small messages stays small.
/// </summary>
internal sealed unsafe class MemfdRing : OutgoingRing
{
    private readonly int _capacity;
    private int _fd;
    private nint _address;

    private MemfdRing(int fd, nint address, int capacity)
    {
        _fd = fd;
        _address = address;
        _capacity = capacity;
    }

    /// <summary>The file's descriptor, for the sendmsg of the first ring frame.</summary>
    public int Descriptor => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(MemfdRing));

    public override int Capacity => _capacity;

    /// <summary>None: the ring's file goes with its first slot's frame (§8, flags bit 0).</summary>
    public override SharedMemoryDescriptor? AttachDescriptor => null;

    /// <summary>A ring of <paramref name="capacity"/> data bytes.</summary>
    /// <exception cref="IOException">The system refused a step.</exception>
    public static MemfdRing Create(long capacity)
    {
        int fd = MemfdFile.Sized(SharedMemoryDescriptor.RingControlLength + capacity);
        nint address = MemfdNative.fcntl(fd, MemfdNative.FAddSeals, MemfdNative.RingSealsAdded) == 0
            ? MemfdNative.mmap(0, (nuint)(SharedMemoryDescriptor.RingControlLength + capacity), MemfdNative.ProtRead | MemfdNative.ProtWrite, MemfdNative.MapShared, fd, 0)
            : MemfdNative.MapFailed;
        if (address == MemfdNative.MapFailed)
        {
            string error = MemfdNative.LastError("sealing or mapping the ring");
            MemfdNative.close(fd);
            throw new IOException(error);
        }
        return new MemfdRing(fd, address, (int)capacity);
    }

    public override ulong ReadConsumed()
    {
        ulong value = Volatile.Read(ref *(ulong*)Address);
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }

    public override void CloseDescriptor()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            MemfdNative.close(fd);
        }
    }

    public override Span<byte> GetSpan() => new((void*)(Address + SharedMemoryDescriptor.RingControlLength), _capacity);

    public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)Address + SharedMemoryDescriptor.RingControlLength + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        CloseDescriptor();
        nint address = Interlocked.Exchange(ref _address, 0);
        if (address != 0)
        {
            MemfdNative.munmap(address, (nuint)(SharedMemoryDescriptor.RingControlLength + _capacity));
        }
    }

    private nint Address => _address != 0 ? _address : throw new ObjectDisposedException(nameof(MemfdRing), "The ring was unmapped: the connection is closed.");
}

/// <summary>A receiver's ring (§8) on Linux: the ring file's control page and data region, each mapped on its own.</summary>
internal sealed class MappedRing : IncomingRing
{
    private MappedRing(nint control, nint data, int capacity) : base(control, data, capacity)
    {
    }

    /// <summary>Maps the ring file <paramref name="fd"/>; null (errno set) when the system refuses either mapping.</summary>
    public static MappedRing? Map(int fd, int capacity)
    {
        nint control = MemfdNative.mmap(0, SharedMemoryDescriptor.RingControlLength, MemfdNative.ProtRead | MemfdNative.ProtWrite, MemfdNative.MapShared, fd, 0);
        if (control == MemfdNative.MapFailed)
        {
            return null;
        }
        nint data = MemfdNative.mmap(0, (nuint)capacity, MemfdNative.ProtRead, MemfdNative.MapShared, fd, SharedMemoryDescriptor.RingControlLength);
        if (data == MemfdNative.MapFailed)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            MemfdNative.munmap(control, SharedMemoryDescriptor.RingControlLength);
            System.Runtime.InteropServices.Marshal.SetLastPInvokeError(errno);
            return null;
        }
        return new MappedRing(control, data, capacity);
    }

    protected override void Unmap(nint control, nint data)
    {
        if (data != 0)
        {
            MemfdNative.munmap(data, (nuint)Capacity);
        }
        if (control != 0)
        {
            MemfdNative.munmap(control, SharedMemoryDescriptor.RingControlLength);
        }
    }
}
