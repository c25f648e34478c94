using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace NPipes.Transport;

/// <summary>
/// recv/recvmsg/send/sendmsg/poll on a connected socket, on the calling thread, for Linux only: the flag values (MSG_DONTWAIT,
/// MSG_NOSIGNAL), errno values and the msghdr layout below are Linux's (glibc and musl). <see cref="TryCreate"/> returns
/// null on every other system, which then takes the portable <see cref="Socket"/> path; so this code cannot run where
/// its constants would be wrong.
/// </summary>
/// <remarks>
/// Why: once a .NET socket has been used asynchronously its descriptor is non-blocking and every later synchronous call
/// is emulated through the socket engine (the caller blocks on an event the epoll thread sets: two thread wake-ups per
/// call), which halves synchronous ping-pong. Here the calling thread waits in poll() itself. Disposing the socket from
/// another thread still interrupts a blocked call: the socket's handle is referenced for the duration, so its close shuts
/// the socket down, which wakes poll().
/// </remarks>
internal sealed partial class LinuxSocketIO : IDirectSend, IDirectReceive
{
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const short PollIn = 0x1;
    private const short PollOut = 0x4;

    private readonly Socket _socket;
    private volatile bool _closed;
    private bool _nothingThere; // the last direct receive found nothing: a blocking read that follows waits first

    private LinuxSocketIO(Socket socket) => _socket = socket;

    /// <summary>The direct path for <paramref name="socket"/> on Linux; null elsewhere (decided here, once, for every caller).</summary>
    public static LinuxSocketIO? TryCreate(Socket socket) => OperatingSystem.IsLinux() ? new LinuxSocketIO(socket) : null;

    /// <summary>The owning stream is being disposed: calls from now on (and one woken by the close) report it.</summary>
    public void MarkClosed() => _closed = true;

    /// <summary>Blocking read: waits in poll() until data or end of stream arrives. 0: end of stream.</summary>
    public int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }
        // A direct receive just found nothing (the reader gave up on it): wait before trying, not after a futile recv.
        bool waitFirst = _nothingThere;
        _nothingThere = false;
        int n = Transfer(buffer, send: false, wait: true, waitFirst);
        if (n == 0 && _closed)
        {
            throw new ObjectDisposedException(nameof(UnixSocketStream), "The connection was closed while a read was waiting.");
        }
        return n;
    }

    /// <summary>Blocking write of the whole buffer.</summary>
    public void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            buffer = buffer[Transfer(buffer, send: true, wait: true)..];
        }
    }

    public int TrySend(ReadOnlySpan<byte> buffer) => buffer.IsEmpty ? 0 : Transfer(buffer, send: true, wait: false);

    public unsafe int TrySendGather(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<byte> third)
    {
        ObjectDisposedException.ThrowIf(_closed, typeof(UnixSocketStream));
        SafeHandle handle = _socket.SafeHandle;
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
                return SendMessageNow(fd, &message);
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

    /// <summary>One non-blocking sendmsg (again if interrupted): the bytes sent, 0 when the socket is full.</summary>
    private unsafe int SendMessageNow(int fd, Native.MsgHdr* message)
    {
        while (true)
        {
            nint n = Native.sendmsg(fd, message, MsgDontWait | MsgNoSignal);
            if (n >= 0)
            {
                return (int)n;
            }
            if (!RetryAfter(Marshal.GetLastPInvokeError(), "sendmsg", fd, PollOut, wait: false))
            {
                return 0;
            }
        }
    }

    /// <summary>One recv or send; with <paramref name="wait"/>, polls until the socket is ready. Returns bytes moved (0 = end of stream for a read, would-block for a non-waiting send).</summary>
    private unsafe int Transfer(ReadOnlySpan<byte> buffer, bool send, bool wait, bool waitFirst = false)
    {
        ObjectDisposedException.ThrowIf(_closed, typeof(UnixSocketStream));
        SafeHandle handle = _socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            if (waitFirst)
            {
                WaitReady(fd, send ? PollOut : PollIn);
            }
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
        WaitReady(fd, events);
        return true;
    }

    /// <summary>Waits in poll() until the socket is ready for <paramref name="events"/> (or closed, or in error: the next call reports it).</summary>
    private unsafe void WaitReady(int fd, short events)
    {
        var poll = new Native.PollFd { Fd = fd, Events = events };
        while (Native.poll(&poll, 1, -1) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        // Dispose from another thread shuts the socket down, which wakes poll: report the close, not a spurious retry.
        ObjectDisposedException.ThrowIf(_closed, typeof(UnixSocketStream));
    }

    private static SocketError ToSocketError(int errno) => errno switch
    {
        32 => SocketError.Shutdown,          // EPIPE
        104 => SocketError.ConnectionReset,  // ECONNRESET
        107 => SocketError.NotConnected,     // ENOTCONN
        _ => SocketError.SocketError,
    };

    /// <summary>The libc calls and structures (internal: the shared-memory tests pass descriptors with the same sendmsg).</summary>
    internal static unsafe partial class Native
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

        /// <summary>Linux struct msghdr: msg_iovlen and msg_controllen are size_t in glibc (musl's int + padding reads the same on little-endian).</summary>
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
        public static partial nint recvmsg(int fd, MsgHdr* message, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial nint recv(int fd, byte* buffer, nint length, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial nint send(int fd, byte* buffer, nint length, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int poll(PollFd* fds, nuint count, int timeout);
    }
}
