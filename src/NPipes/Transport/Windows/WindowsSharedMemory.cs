using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// Shared memory on a Windows pipe (docs/shared-memory.md §9): the ring alone, in an unnamed section that the receiver
/// pulls out of the peer's process (the pid the pipe reported when the connection was made, never one a frame names).
/// No file travels (<see cref="Files"/> is null): the ring attaches with a kind-3 frame of its own.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsSharedMemory(int peerProcessId) : ISharedMemoryTransport
{
    public ISharedFileTransport? Files => null;

    public OutgoingRing CreateRing(long capacity) => SectionRing.Create(capacity);

    /// <summary>§9 Attaching, steps 1-4 in order; every failure names its step and the system's error, and leaves nothing open.</summary>
    public IncomingRing TakeRing(long frameStart, SharedMemoryDescriptor descriptor)
    {
        long size = descriptor.Length;
        long capacity = size - SharedMemoryDescriptor.RingControlLength;
        if (capacity <= 0 || capacity % SharedMemoryDescriptor.RingControlLength != 0 || capacity > SharedMemoryDescriptor.MaxRingCapacity)
        {
            throw new SharedMemoryException($"Refused a shared-memory ring of {size} bytes (step 1, its size): a ring is 4096 bytes plus a non-zero multiple of 4096 up to 1 GiB.");
        }
        nint section = Duplicate(descriptor.Position);
        try
        {
            Check(section, size);
            return SectionViews.Map(section, (int)capacity);
        }
        finally
        {
            SectionNative.CloseHandle(section); // the views keep the section alive
        }
    }

    /// <summary>Step 2: a handle of this process's own to the section whose value <paramref name="value"/> names in the peer's process.</summary>
    private nint Duplicate(long value)
    {
        if (value <= 0 || value > uint.MaxValue)
        {
            throw new SharedMemoryException($"Refused a shared-memory ring announced with handle value {value} (step 2, taking it from the peer): a Windows handle value is a non-zero 32-bit number.");
        }
        if (peerProcessId <= 0)
        {
            throw new SharedMemoryException("Refused a shared-memory ring (step 2, taking it from the peer): the pipe did not report the peer's process id.");
        }
        nint process = SectionNative.OpenProcess(SectionNative.ProcessDupHandle, 0, (uint)peerProcessId);
        if (process == 0)
        {
            throw new SharedMemoryException($"Refused a shared-memory ring (step 2): opening the peer's process (pid {peerProcessId}) to take its ring was refused: {SectionNative.LastError()}; shared memory on Windows needs the receiver to be allowed to open the sender's process (PROCESS_DUP_HANDLE).");
        }
        try
        {
            const uint Access = SectionNative.SectionQuery | SectionNative.SectionMapRead | SectionNative.SectionMapWrite;
            nint section;
            if (SectionNative.DuplicateHandle(process, (nint)value, SectionNative.GetCurrentProcess(), &section, Access, 0, 0) == 0)
            {
                throw new SharedMemoryException($"Refused a shared-memory ring (step 2): duplicating handle {value} out of the peer's process (pid {peerProcessId}) failed: {SectionNative.LastError()}.");
            }
            return section;
        }
        finally
        {
            SectionNative.CloseHandle(process);
        }
    }

    /// <summary>Step 3: a section backed by the paging file, every page committed, of exactly <paramref name="size"/> bytes.</summary>
    private static void Check(nint section, long size)
    {
        SectionNative.SectionBasic info = default;
        nuint returned;
        int status = SectionNative.NtQuerySection(section, SectionNative.SectionBasicInformation, &info, (nuint)sizeof(SectionNative.SectionBasic), &returned);
        if (status < 0)
        {
            throw new SharedMemoryException($"Refused the peer's shared-memory ring (step 3, querying the section): NtQuerySection failed with status 0x{status:X8} (not a section?).");
        }
        uint attributes = info.AllocationAttributes;
        if ((attributes & SectionNative.SecCommit) == 0 || (attributes & SectionNative.SecRefused) != 0)
        {
            throw new SharedMemoryException($"Refused the peer's shared-memory ring (step 3, the section's kind): its attributes are 0x{attributes:X8}; a ring is SEC_COMMIT (0x08000000) memory of the paging file, never SEC_FILE, SEC_IMAGE, SEC_RESERVE or SEC_LARGE_PAGES.");
        }
        if (info.MaximumSize != size)
        {
            throw new SharedMemoryException($"Refused the peer's shared-memory ring (step 3, the section's size): it is {info.MaximumSize} bytes, not the {size} announced.");
        }
    }
}
