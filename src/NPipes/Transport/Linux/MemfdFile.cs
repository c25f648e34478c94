using System.Buffers;

namespace NPipes.Transport;

/// <summary>
/// A sender's memfd (docs/shared-memory.md §3.1-3.2): created, sized and mapped writable; <see cref="Seal"/> unmaps and
/// seals it; disposal closes the descriptor (after a send the file lives on in the socket queue and the receiver). No
/// finalizer (CA2015): a span of the mapping does not keep this alive, and a finalizer could unmap memory being written.
/// </summary>
internal sealed unsafe class MemfdFile : OutgoingSharedFile
{
    private readonly int _length;
    private int _fd;
    private nint _address;

    private MemfdFile(int fd, nint address, int length)
    {
        _fd = fd;
        _address = address;
        _length = length;
    }

    /// <summary>The file's descriptor, for the sendmsg that hands it over.</summary>
    public int Descriptor => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(MemfdFile));

    /// <summary>A file of <paramref name="length"/> bytes, mapped writable.</summary>
    /// <exception cref="IOException">The system refused a step.</exception>
    public static MemfdFile Create(int length)
    {
        int fd = Sized(length);
        nint address = MemfdNative.mmap(0, (nuint)length, MemfdNative.ProtRead | MemfdNative.ProtWrite, MemfdNative.MapShared | MemfdNative.MapPopulate, fd, 0);
        if (address == MemfdNative.MapFailed)
        {
            string error = MemfdNative.LastError("mmap");
            MemfdNative.close(fd);
            throw new IOException(error);
        }
        return new MemfdFile(fd, address, length);
    }

    /// <summary>A file holding a copy of <paramref name="payload"/>, written with pwrite; never mapped.</summary>
    /// <exception cref="IOException">The system refused a step.</exception>
    public static MemfdFile CreateFrom(ReadOnlySpan<byte> payload)
    {
        int fd = Sized(payload.Length);
        fixed (byte* start = payload)
        {
            for (int written = 0; written < payload.Length;)
            {
                nint n = MemfdNative.pwrite(fd, start + written, payload.Length - written, written);
                if (n <= 0 && !(n < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == MemfdNative.EINTR))
                {
                    string error = MemfdNative.LastError("pwrite");
                    MemfdNative.close(fd);
                    throw new IOException(error);
                }
                written += (int)Math.Max(n, 0);
            }
        }
        return new MemfdFile(fd, 0, payload.Length);
    }

    /// <summary>A new memfd, sealable, of <paramref name="length"/> bytes.</summary>
    internal static int Sized(long length)
    {
        int fd = MemfdNative.memfd_create("npipes", MemfdNative.MfdCloexec | MemfdNative.MfdAllowSealing);
        if (fd < 0)
        {
            throw new IOException(MemfdNative.LastError("memfd_create"));
        }
        if (MemfdNative.ftruncate(fd, length) != 0)
        {
            string error = MemfdNative.LastError("ftruncate");
            MemfdNative.close(fd);
            throw new IOException(error);
        }
        return fd;
    }

    public override void Seal()
    {
        Unmap();
        if (MemfdNative.fcntl(Descriptor, MemfdNative.FAddSeals, MemfdNative.SealsAdded) != 0)
        {
            throw new IOException(MemfdNative.LastError("fcntl(F_ADD_SEALS)"));
        }
    }

    public override Span<byte> GetSpan() =>
        _address != 0 ? new Span<byte>((void*)_address, _length) : throw new ObjectDisposedException(nameof(MemfdFile), "The file is not mapped here: sent, disposed, or written with pwrite.");

    public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)_address + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        Unmap();
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            MemfdNative.close(fd);
        }
    }

    private void Unmap()
    {
        nint address = Interlocked.Exchange(ref _address, 0);
        if (address != 0)
        {
            MemfdNative.munmap(address, (nuint)_length);
        }
    }
}
