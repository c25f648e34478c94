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
    public unsafe SharedMemoryView Take(long frameStart, long length)
    {
        if (_queue.Count == 0 || _queue.Peek().ReadStart > frameStart || _queue.Peek().ReadEnd <= frameStart)
        {
            throw Refuse("Refused a shared-memory descriptor frame that arrived without its file.");
        }
        int fd = _queue.Dequeue().Fd;
        try
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
            ulong size = *(ulong*)(status + MemfdNative.StatxSizeOffset);
            if (size != (ulong)length)
            {
                throw Refuse($"Refused a shared-memory file of {size} bytes: its descriptor announced {length}.");
            }
            int seals = MemfdNative.fcntl(fd, MemfdNative.FGetSeals, 0);
            if (seals < 0 || (seals & MemfdNative.SealsRequired) != MemfdNative.SealsRequired)
            {
                throw Refuse(seals < 0
                    ? "Refused a shared-memory file that is not a sealable memfd."
                    : $"Refused a shared-memory file that is not sealed against writing, shrinking and growing (seals 0x{seals:x}).");
            }
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
