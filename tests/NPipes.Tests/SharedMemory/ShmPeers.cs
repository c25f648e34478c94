using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using NPipes.Transport;

namespace NPipes.Tests.SharedMemory;

/// <summary>
/// Connected socket pairs for shared-memory tests: a library connection on one end, and on the other either another
/// connection or a raw peer that sends bytes with whatever descriptors it likes (sendmsg with SCM_RIGHTS).
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class ShmPeers
{
    public static readonly SharedMemoryOptions Shm = new();

    /// <summary>Options with shared memory on (defaults unless given) and a bounded timeout.</summary>
    public static NPipesOptions Options(bool crc = true, ByteOrder order = ByteOrder.BigEndian, long limit = FrameOptions.DefaultMaxPayloadLength, SharedMemoryOptions? shm = null) =>
        TestPipes.Options(FrameOptions.Default with { Crc = crc, ByteOrder = order, MaxPayloadLength = limit }) with { SharedMemory = shm ?? Shm };

    /// <summary>Two connected AF_UNIX stream sockets.</summary>
    public static (Socket A, Socket B) SocketPair()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "shared memory exists on Linux only");
        int* sv = stackalloc int[2];
        if (socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0x80000 /* SOCK_CLOEXEC */, 0, sv) != 0)
        {
            throw new IOException("socketpair failed: " + Marshal.GetLastPInvokeError());
        }
        return (new Socket(new SafeSocketHandle(sv[0], ownsHandle: true)), new Socket(new SafeSocketHandle(sv[1], ownsHandle: true)));
    }

    /// <summary>A connection over <paramref name="socket"/>, as the listener or connector would make it.</summary>
    public static PipeConnection Connection(Socket socket, NPipesOptions options) => new(new UnixSocketStream(socket), "pair", options);

    /// <summary>Two library connections, each end with its own options (the receiver's, by default, the sender's).</summary>
    public static ConnectionPair Pair(NPipesOptions sender, NPipesOptions? receiver = null)
    {
        (Socket a, Socket b) = SocketPair();
        return new ConnectionPair(Connection(a, sender), Connection(b, receiver ?? sender));
    }

    /// <summary>Shared-memory files this connection created to send.</summary>
    public static int FilesCreated(PipeConnection connection) => ((LinuxSocketIO)connection.SharedMemoryTransport!).FilesCreated;

    /// <summary>One sendmsg of <paramref name="bytes"/> carrying <paramref name="fds"/> in one SCM_RIGHTS message (none: a plain send).</summary>
    public static void SendWithFds(Socket socket, ReadOnlySpan<byte> bytes, params int[] fds)
    {
        int controlLength = fds.Length == 0 ? 0 : 16 + ((fds.Length * 4 + 7) & ~7);
        byte* control = stackalloc byte[Math.Max(controlLength, 1)];
        new Span<byte>(control, Math.Max(controlLength, 1)).Clear();
        if (fds.Length > 0)
        {
            *(nuint*)control = (nuint)(16 + fds.Length * 4);
            *(int*)(control + 8) = 1;  // SOL_SOCKET
            *(int*)(control + 12) = 1; // SCM_RIGHTS
            for (int i = 0; i < fds.Length; i++)
            {
                *(int*)(control + 16 + i * 4) = fds[i];
            }
        }
        fixed (byte* p = bytes)
        {
            LinuxSocketIO.Native.IoVec iov = new() { Base = p, Length = (nuint)bytes.Length };
            LinuxSocketIO.Native.MsgHdr message = new() { Iov = &iov, IovLen = 1, Control = controlLength == 0 ? null : control, ControlLength = (nuint)controlLength };
            nint n = LinuxSocketIO.Native.sendmsg((int)socket.Handle, &message, 0x4000 /* MSG_NOSIGNAL */);
            if (n != bytes.Length)
            {
                throw new IOException($"sendmsg sent {n} of {bytes.Length} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>A memfd of <paramref name="payload"/>, sealed with <paramref name="seals"/> (0: none).</summary>
    public static int Memfd(ReadOnlySpan<byte> payload, int seals = MemfdNative.SealsAdded, long? size = null)
    {
        int fd = MemfdNative.memfd_create("attack", MemfdNative.MfdCloexec | MemfdNative.MfdAllowSealing);
        Assert.True(fd >= 0);
        Assert.Equal(0, MemfdNative.ftruncate(fd, size ?? payload.Length));
        fixed (byte* p = payload)
        {
            Assert.Equal(payload.Length, (int)pwrite(fd, p, payload.Length, 0));
        }
        if (seals != 0)
        {
            Assert.Equal(0, MemfdNative.fcntl(fd, MemfdNative.FAddSeals, seals));
        }
        return fd;
    }

    /// <summary>Whether one byte can be written into <paramref name="fd"/> at offset 0.</summary>
    public static bool CanWrite(int fd)
    {
        byte one = 1;
        return pwrite(fd, &one, 1, 0) == 1;
    }

    /// <summary>A whole descriptor frame for a payload (CRC over it when <paramref name="crc"/>), as a compliant sender writes it.</summary>
    public static byte[] DescriptorFrame(ReadOnlySpan<byte> payload, FrameOptions options, long? announced = null)
    {
        byte[] frame = new byte[SharedMemoryDescriptor.FrameLength];
        SharedMemoryDescriptor.WriteFrame(frame, announced ?? payload.Length, options.Crc ? FrameCodec.ComputeCrc(payload) : 0, options);
        return frame;
    }

    /// <summary>How many of this process's descriptors point at what <paramref name="fd"/> points at (its /proc/self/fd link).</summary>
    public static int FdsLike(int fd) => FdsWhere(target => target == Link(fd));

    /// <summary>How many of this process's descriptors are memfds (no other test makes any).</summary>
    public static int Memfds() => FdsWhere(target => target.StartsWith("/memfd:", StringComparison.Ordinal));

    private static string Link(int fd) => new FileInfo("/proc/self/fd/" + fd).LinkTarget ?? "";

    private static int FdsWhere(Func<string, bool> match)
    {
        int count = 0;
        foreach (string entry in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                count += match(new FileInfo(entry).LinkTarget ?? "") ? 1 : 0;
            }
            catch (IOException)
            {
                // closed while we looked (the listing's own descriptor, or another thread's)
            }
        }
        return count;
    }

    public static void Close(int fd) => MemfdNative.close(fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint pwrite(int fd, byte* buffer, nint count, long offset);
}

/// <summary>Two connected library connections, disposed together.</summary>
internal sealed class ConnectionPair(PipeConnection sender, PipeConnection receiver) : IAsyncDisposable
{
    public void Deconstruct(out PipeConnection first, out PipeConnection second) => (first, second) = (sender, receiver);

    public async ValueTask DisposeAsync()
    {
        await sender.DisposeAsync();
        await receiver.DisposeAsync();
    }
}
