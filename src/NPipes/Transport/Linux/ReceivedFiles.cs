namespace NPipes.Transport;

/// <summary>
/// Files received on a shared-memory connection, in order, each with the stream positions of the read that brought it,
/// and the checks of docs/shared-memory.md §4 that run before one is mapped. Linux hands a file over with the first
/// byte of the sendmsg that carried it and ends that read with it, so the descriptor frame that owns a file starts
/// inside the file's read, and a file whose read ends within an ordinary frame came with that frame's bytes.
/// </summary>
internal sealed class ReceivedFiles
{
    private readonly Queue<(int Fd, long ReadStart, long ReadEnd)> _queue = new();

    public void Add(int fd, long readStart, long readEnd) => _queue.Enqueue((fd, readStart, readEnd));

    /// <summary>Refuses a queued file whose read ended at or before <paramref name="frameEnd"/>, the end of a frame that is not a descriptor frame.</summary>
    /// <exception cref="SharedMemoryException">There is one: every queued file is closed.</exception>
    public void CheckNoStrayFile(long frameEnd)
    {
        if (_queue.Count > 0 && _queue.Peek().ReadEnd <= frameEnd)
        {
            throw Refuse("Refused a file that arrived with a frame that is not a shared-memory descriptor frame.");
        }
    }

    /// <summary>The checks of §4.1, 4.3 and 4.4, then the read-only mapping of §4.5 (the descriptor is closed).</summary>
    /// <exception cref="SharedMemoryException">A check failed: nothing is mapped, every queued file is closed.</exception>
    public SharedMemoryView Take(long frameStart, long length)
    {
        int fd = Dequeue(frameStart);
        try
        {
            ulong size = Size(fd);
            if (size != (ulong)length)
            {
                throw Refuse($"Refused a shared-memory file of {size} bytes: its descriptor announced {length}.");
            }
            CheckSeals(fd, MemfdNative.SealsRequired, "writing, shrinking and growing");
            nint address = MemfdNative.mmap(0, (nuint)length, MemfdNative.ProtRead, MemfdNative.MapShared | MemfdNative.MapPopulate, fd, 0);
            if (address == MemfdNative.MapFailed)
            {
                throw Refuse("Refused a shared-memory file that cannot be mapped: " + MemfdNative.LastError("mmap"));
            }
            return MemfdView.Rent(address, (int)length);
        }
        finally
        {
            MemfdNative.close(fd);
        }
    }

    /// <summary>
    /// The ring's file (§8): §4.1 and §4.3, a size of 4096 + capacity (capacity a non-zero multiple of 4096, at most
    /// 1 GiB), seals against shrinking and growing; then the data region mapped read-only and the control page writable.
    /// </summary>
    /// <exception cref="SharedMemoryException">A check failed: nothing is mapped, every queued file is closed.</exception>
    public IncomingRing TakeRing(long frameStart)
    {
        int fd = Dequeue(frameStart);
        try
        {
            ulong size = Size(fd);
            ulong capacity = size - SharedMemoryDescriptor.RingControlLength;
            if (size <= SharedMemoryDescriptor.RingControlLength || capacity % SharedMemoryDescriptor.RingControlLength != 0 || capacity > SharedMemoryDescriptor.MaxRingCapacity)
            {
                throw Refuse($"Refused a shared-memory ring file of {size} bytes: a ring is 4096 bytes plus a non-zero multiple of 4096 up to 1 GiB.");
            }
            CheckSeals(fd, MemfdNative.RingSealsRequired, "shrinking and growing");
            return MappedRing.Map(fd, (int)capacity) ?? throw Refuse("Refused a shared-memory ring that cannot be mapped: " + MemfdNative.LastError("mmap"));
        }
        finally
        {
            MemfdNative.close(fd);
        }
    }

    /// <summary>The oldest queued file, if it arrived in a read holding the frame's first byte (§4.1).</summary>
    private int Dequeue(long frameStart)
    {
        if (_queue.Count == 0 || _queue.Peek().ReadStart > frameStart || _queue.Peek().ReadEnd <= frameStart)
        {
            throw Refuse("Refused a shared-memory descriptor frame that arrived without its file.");
        }
        return _queue.Dequeue().Fd;
    }

    /// <summary>§4.3: a regular file; its size.</summary>
    private unsafe ulong Size(int fd)
    {
        byte* status = stackalloc byte[MemfdNative.StatxLength];
        if (MemfdNative.statx(fd, "", MemfdNative.AtEmptyPath, MemfdNative.StatxType | MemfdNative.StatxSize, status) != 0)
        {
            throw Refuse("Refused a shared-memory file that cannot be examined: " + MemfdNative.LastError("statx"));
        }
        if ((*(ushort*)(status + MemfdNative.StatxModeOffset) & MemfdNative.SIfmt) != MemfdNative.SIfreg)
        {
            throw Refuse("Refused a shared-memory file that is not a regular file (a pipe, socket or device was sent).");
        }
        return *(ulong*)(status + MemfdNative.StatxSizeOffset);
    }

    /// <summary>§4.4: the file's seals include <paramref name="required"/> (a file that is not a memfd has none).</summary>
    private void CheckSeals(int fd, int required, string against)
    {
        int seals = MemfdNative.fcntl(fd, MemfdNative.FGetSeals, 0);
        if (seals < 0 || (seals & required) != required)
        {
            throw Refuse(seals < 0
                ? "Refused a shared-memory file that is not a sealable memfd."
                : $"Refused a shared-memory file that is not sealed against {against} (seals 0x{seals:x}).");
        }
    }

    /// <summary>Closes every queued file.</summary>
    public void CloseAll()
    {
        while (_queue.TryDequeue(out var file))
        {
            MemfdNative.close(file.Fd);
        }
    }

    private SharedMemoryException Refuse(string message)
    {
        CloseAll();
        return new SharedMemoryException(message);
    }
}
