using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using NPipes.Transport;

namespace NPipes.Tests.SharedMemory;

/// <summary>
/// The raw end of a ring (docs/shared-memory.md §8) for attack tests: as a receiver, reads descriptor frames and the
/// ring file and writes whatever consumed it likes; as a sender, makes ring files of any shape and their frames.
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class RingPeer
{
    public const int Control = SharedMemoryDescriptor.RingControlLength;

    /// <summary>Reads one whole descriptor frame from <paramref name="socket"/> (blocking): its descriptor, and the file that came with it (-1: none).</summary>
    public static (SharedMemoryDescriptor Descriptor, int Fd) ReadFrame(Socket socket, FrameOptions options)
    {
        byte[] frame = new byte[SharedMemoryDescriptor.FrameLength];
        int fd = -1;
        byte* control = stackalloc byte[32];
        for (int got = 0; got < frame.Length;)
        {
            fixed (byte* p = &frame[got])
            {
                var iov = new LinuxSocketIO.Native.IoVec { Base = p, Length = (nuint)(frame.Length - got) };
                var message = new LinuxSocketIO.Native.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLength = 32 };
                nint n = LinuxSocketIO.Native.recvmsg((int)socket.Handle, &message, 0);
                if (n <= 0)
                {
                    throw new EndOfStreamException($"recvmsg returned {n} (errno {Marshal.GetLastPInvokeError()})");
                }
                if (message.ControlLength >= 20 && *(int*)(control + 12) == 1)
                {
                    fd = *(int*)(control + 16);
                }
                got += (int)n;
            }
        }
        Assert.Equal(SharedMemoryDescriptor.DescriptorMessageLength, FrameCodec.ReadUInt32(frame, options.ByteOrder));
        return (SharedMemoryDescriptor.Decode(frame.AsSpan(FrameCodec.HeaderLength, SharedMemoryDescriptor.DescriptorLength), options.ByteOrder), fd);
    }

    /// <summary>Maps the control page of the ring file <paramref name="fd"/> writable.</summary>
    public static nint MapControl(int fd)
    {
        nint address = MemfdNative.mmap(0, Control, MemfdNative.ProtRead | MemfdNative.ProtWrite, MemfdNative.MapShared, fd, 0);
        Assert.NotEqual(MemfdNative.MapFailed, address);
        return address;
    }

    /// <summary>Stores <paramref name="consumed"/> as a receiver would.</summary>
    public static void Consume(nint control, ulong consumed) => Volatile.Write(ref *(ulong*)control, consumed);

    public static void Unmap(nint address, long length) => MemfdNative.munmap(address, (nuint)length);

    /// <summary>A ring file of 4096 + <paramref name="capacity"/> bytes (or <paramref name="size"/>), sealed with <paramref name="seals"/>.</summary>
    public static int RingFile(long capacity, int seals = MemfdNative.RingSealsAdded, long? size = null)
    {
        int fd = MemfdNative.memfd_create("ring-attack", MemfdNative.MfdCloexec | MemfdNative.MfdAllowSealing);
        Assert.True(fd >= 0);
        Assert.Equal(0, MemfdNative.ftruncate(fd, size ?? Control + capacity));
        if (seals != 0)
        {
            Assert.Equal(0, MemfdNative.fcntl(fd, MemfdNative.FAddSeals, seals));
        }
        return fd;
    }

    /// <summary>Writes <paramref name="payload"/> into the ring file's data region at <paramref name="offset"/>.</summary>
    public static void Write(int fd, long offset, ReadOnlySpan<byte> payload)
    {
        fixed (byte* p = payload)
        {
            Assert.Equal(payload.Length, (int)pwrite(fd, p, payload.Length, Control + offset));
        }
    }

    /// <summary>A kind-2 descriptor frame for a slot holding <paramref name="payload"/> (CRC over it with CRC on).</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, long position, FrameOptions options, uint flags = 0, long? length = null)
    {
        byte[] frame = new byte[SharedMemoryDescriptor.FrameLength];
        var descriptor = new SharedMemoryDescriptor(length ?? payload.Length, options.Crc ? FrameCodec.ComputeCrc(payload) : 0, SharedMemoryDescriptor.KindRing, position, flags);
        SharedMemoryDescriptor.WriteFrame(frame, descriptor, options);
        return frame;
    }

    /// <summary>How many of this process's mappings are of memfds (other than the runtime's own).</summary>
    public static int MemfdMappings() => File.ReadAllLines("/proc/self/maps").Count(line =>
        line.Contains("/memfd:", StringComparison.Ordinal)
        // The runtime's own executable memory (W^X double mapping: memfd "doublemapper") gains mappings whenever code is
        // compiled, which tests running meanwhile do: not ours to count.
        && !line.Contains("/memfd:doublemapper", StringComparison.Ordinal));

    /// <summary>Opens a regular file read-write: a descriptor that is not a memfd.</summary>
    public static int Open(string path)
    {
        int fd = open(path, 2 /* O_RDWR */);
        Assert.True(fd >= 0);
        return fd;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint pwrite(int fd, byte* buffer, nint count, long offset);
}
