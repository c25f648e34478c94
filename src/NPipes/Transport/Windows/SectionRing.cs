using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// A sender's ring on Windows (docs/shared-memory.md §9): an unnamed section of 4096 + capacity bytes, committed and
/// backed by the paging file, mapped writable whole. Its handle stays open until the connection closes: the receiver
/// duplicates it out of this process at a time this side cannot know, and it pins nothing the view does not.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class SectionRing : OutgoingRing
{
    private readonly int _capacity;
    private nint _section;
    private nint _address;

    private SectionRing(nint section, nint address, int capacity)
    {
        _section = section;
        _address = address;
        _capacity = capacity;
    }

    /// <summary>A ring of <paramref name="capacity"/> data bytes.</summary>
    /// <exception cref="IOException">The system refused to create or map the section.</exception>
    public static SectionRing Create(long capacity)
    {
        long size = SharedMemoryDescriptor.RingControlLength + capacity;
        // Unnamed: no other process can open it by name, and no name can be taken first by an attacker.
        nint section = SectionNative.CreateFileMapping(SectionNative.InvalidHandleValue, 0, SectionNative.PageReadWrite | SectionNative.SecCommit, (uint)(size >> 32), (uint)size, null);
        if (section == 0)
        {
            throw new IOException("Creating the shared-memory ring's section failed: " + SectionNative.LastError());
        }
        nint address = SectionNative.MapViewOfFile(section, SectionNative.FileMapWrite, 0, 0, (nuint)size);
        if (address == 0)
        {
            string error = SectionNative.LastError();
            SectionNative.CloseHandle(section);
            throw new IOException("Mapping the shared-memory ring's section failed: " + error);
        }
        return new SectionRing(section, address, (int)capacity);
    }

    public override int Capacity => _capacity;

    /// <summary>Kind 3: the section's size and its handle's value in this process (§9 The attach frame).</summary>
    public override SharedMemoryDescriptor? AttachDescriptor =>
        new SharedMemoryDescriptor(SharedMemoryDescriptor.RingControlLength + _capacity, 0, SharedMemoryDescriptor.KindAttach, _section != 0 ? _section : throw new ObjectDisposedException(nameof(SectionRing)));

    public override ulong ReadConsumed()
    {
        ulong value = Volatile.Read(ref *(ulong*)Address);
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }

    /// <summary>Nothing: the handle stays open until the connection closes (the peer may not have duplicated it yet).</summary>
    public override void CloseDescriptor()
    {
    }

    public override Span<byte> GetSpan() => new((void*)(Address + SharedMemoryDescriptor.RingControlLength), _capacity);

    public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)Address + SharedMemoryDescriptor.RingControlLength + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        nint address = Interlocked.Exchange(ref _address, IntPtr.Zero);
        if (address != 0)
        {
            SectionNative.UnmapViewOfFile(address);
        }
        nint section = Interlocked.Exchange(ref _section, IntPtr.Zero);
        if (section != 0)
        {
            SectionNative.CloseHandle(section);
        }
    }

    private nint Address => _address != 0 ? _address : throw new ObjectDisposedException(nameof(SectionRing), "The ring was unmapped: the connection is closed.");
}

/// <summary>
/// A receiver's ring on Windows (§9 step 4): the whole section mapped read-only (a view's offset must be a multiple of
/// 64 KiB, so the data region is read 4096 bytes into it) and its first 4096 bytes writable, the control page. No
/// handle is kept; disposal unmaps both views.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class SectionViews : IncomingRing
{
    private SectionViews(nint whole, nint control, int capacity) : base(control, whole + SharedMemoryDescriptor.RingControlLength, capacity)
    {
    }

    /// <summary>Maps <paramref name="section"/> (4096 + <paramref name="capacity"/> bytes): §9 step 4.</summary>
    /// <exception cref="SharedMemoryException">The system refused either view (nothing is left mapped).</exception>
    public static SectionViews Map(nint section, int capacity)
    {
        nint whole = SectionNative.MapViewOfFile(section, SectionNative.FileMapRead, 0, 0, (nuint)(SharedMemoryDescriptor.RingControlLength + capacity));
        if (whole == 0)
        {
            throw Refused();
        }
        nint control = SectionNative.MapViewOfFile(section, SectionNative.FileMapWrite, 0, 0, SharedMemoryDescriptor.RingControlLength);
        if (control == 0)
        {
            SharedMemoryException error = Refused(); // read the last error before the unmap can change it
            SectionNative.UnmapViewOfFile(whole);
            throw error;
        }
        return new SectionViews(whole, control, capacity);
    }

    private static SharedMemoryException Refused() =>
        new($"Refused the peer's shared-memory ring (step 4, mapping it): MapViewOfFile failed: {SectionNative.LastError()}.");

    protected override void Unmap(nint control, nint data)
    {
        if (data != 0)
        {
            SectionNative.UnmapViewOfFile(data - SharedMemoryDescriptor.RingControlLength); // the whole section's view
        }
        if (control != 0)
        {
            SectionNative.UnmapViewOfFile(control);
        }
    }
}
