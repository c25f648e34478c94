using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Unix connection stream: a <see cref="NetworkStream"/> whose synchronous Read and Write call recv/send on the
/// calling thread (non-blocking, then poll), on Linux.
/// </summary>
/// <remarks>
/// Once a .NET socket has been used asynchronously (connect, accept, any async read) its descriptor is non-blocking and
/// every later synchronous call is emulated through the socket engine: the caller blocks on an event that the epoll
/// thread sets, two thread wake-ups per call. That halves synchronous ping-pong. Here the calling thread waits in poll()
/// itself. Disposing the socket from another thread still interrupts a blocked call: the socket's handle is referenced
/// for the duration, so its close shuts the socket down, which wakes poll().
/// </remarks>
[UnsupportedOSPlatform("windows")]
internal sealed partial class UnixSocketStream : NetworkStream
{
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int MsgDontWait = 0x40;  // Linux
    private const int MsgNoSignal = 0x4000; // Linux
    private const short PollIn = 0x1;
    private const short PollOut = 0x4;
    private volatile bool _disposed;

    public UnixSocketStream(Socket socket) : base(socket, ownsSocket: true)
    {
    }

    /// <summary>Whether the direct sync path is used (Linux); elsewhere the stream behaves as a plain NetworkStream.</summary>
    public static bool Direct { get; } = OperatingSystem.IsLinux();

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer) => Direct ? ReadDirect(buffer) : base.Read(buffer);

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(new ReadOnlySpan<byte>(buffer, offset, count));
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!Direct)
        {
            base.Write(buffer);
            return;
        }
        while (!buffer.IsEmpty)
        {
            int n = Transfer(buffer, send: true, wait: true);
            buffer = buffer[n..];
        }
    }

    /// <summary>
    /// Sends as much of <paramref name="buffer"/> as the socket takes without blocking; returns how many bytes went.
    /// Returns 0 (nothing sent) where the direct path is not available.
    /// </summary>
    public int TryWrite(ReadOnlySpan<byte> buffer) => Direct && !buffer.IsEmpty ? Transfer(buffer, send: true, wait: false) : 0;

    /// <summary>
    /// Sends as much of the three buffers, in order, as the socket takes in one call (sendmsg) without blocking, or
    /// with <paramref name="wait"/> polls until it takes something. Returns how many bytes went (0: none, would block).
    /// </summary>
    public unsafe int TryWriteGather(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<byte> third, bool wait)
    {
        if (!Direct)
        {
            return 0;
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        SafeHandle handle = Socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            fixed (byte* a = first)
            fixed (byte* b = second)
            fixed (byte* c = third)
            {
                Native.IoVec* iov = stackalloc Native.IoVec[3];
                iov[0] = new Native.IoVec { Base = a, Length = (nuint)first.Length };
                iov[1] = new Native.IoVec { Base = b, Length = (nuint)second.Length };
                iov[2] = new Native.IoVec { Base = c, Length = (nuint)third.Length };
                var message = new Native.MsgHdr { Iov = iov, IovLen = 3 };
                while (true)
                {
                    nint n = Native.sendmsg(fd, &message, MsgDontWait | MsgNoSignal);
                    if (n >= 0)
                    {
                        return (int)n;
                    }
                    if (!RetryAfter(Marshal.GetLastPInvokeError(), "sendmsg", fd, PollOut, wait))
                    {
                        return 0;
                    }
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// After a failed non-blocking call: true to try the call again (interrupted, or would block and <paramref name="wait"/>
    /// polled until the socket is ready), false when it would block and the caller does not wait. Other errors throw.
    /// </summary>
    private unsafe bool RetryAfter(int errno, string call, int fd, short events, bool wait)
    {
        if (errno == EINTR)
        {
            return true;
        }
        if (errno != EAGAIN)
        {
            throw new IOException($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)}", new SocketException((int)ToSocketError(errno)));
        }
        if (!wait)
        {
            return false;
        }
        var poll = new Native.PollFd { Fd = fd, Events = events };
        while (Native.poll(&poll, 1, -1) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        // Dispose from another thread shuts the socket down, which wakes poll: report the close, not a spurious retry.
        ObjectDisposedException.ThrowIf(_disposed, this);
        return true;
    }

    private int ReadDirect(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }
        int n = Transfer(buffer, send: false, wait: true);
        if (n == 0 && _disposed)
        {
            throw new ObjectDisposedException(nameof(UnixSocketStream), "The connection was closed while a read was waiting.");
        }
        return n;
    }

    /// <summary>One recv or send; with <paramref name="wait"/>, polls until the socket is ready. Returns bytes moved (0 = end of stream for a read, would-block for a non-waiting send).</summary>
    private unsafe int Transfer(ReadOnlySpan<byte> buffer, bool send, bool wait)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SafeHandle handle = Socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    nint n = send ? Native.send(fd, p, buffer.Length, MsgDontWait | MsgNoSignal) : Native.recv(fd, p, buffer.Length, MsgDontWait);
                    if (n >= 0)
                    {
                        return (int)n;
                    }
                    if (!RetryAfter(Marshal.GetLastPInvokeError(), send ? "send" : "recv", fd, send ? PollOut : PollIn, wait))
                    {
                        return 0;
                    }
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static SocketError ToSocketError(int errno) => errno switch
    {
        32 => SocketError.Shutdown,          // EPIPE
        104 => SocketError.ConnectionReset,  // ECONNRESET
        107 => SocketError.NotConnected,     // ENOTCONN
        _ => SocketError.SocketError,
    };

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    private static unsafe partial class Native
    {
        [StructLayout(LayoutKind.Sequential)]
        public struct PollFd
        {
            public int Fd;
            public short Events;
            public short Revents;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct IoVec
        {
            public byte* Base;
            public nuint Length;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct MsgHdr
        {
            public void* Name;
            public int NameLength;
            public IoVec* Iov;
            public nuint IovLen;
            public void* Control;
            public nuint ControlLength;
            public int Flags;
        }

        [LibraryImport("libc", SetLastError = true)]
        public static partial nint sendmsg(int fd, MsgHdr* message, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial nint recv(int fd, byte* buffer, nint length, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial nint send(int fd, byte* buffer, nint length, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int poll(PollFd* fds, nuint count, int timeout);
    }
}
