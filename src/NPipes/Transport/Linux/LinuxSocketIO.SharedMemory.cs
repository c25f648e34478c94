using System.Runtime.InteropServices;

namespace NPipes.Transport;

// Shared memory on the socket (docs/shared-memory.md): a descriptor frame's first bytes go with its file in one sendmsg
// (SCM_RIGHTS), and once shared memory is on every read is a recvmsg with room for a few descriptors, whose files are
// queued in order (ReceivedFiles) for the descriptor frames that own them.
internal sealed partial class LinuxSocketIO : ISharedMemoryTransport, ISharedFileTransport
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int MsgCtrunc = 0x8;
    private const int MsgCmsgCloexec = 0x40000000;
    private const int CmsgHeader = 16;             // struct cmsghdr on 64-bit Linux: size_t len, int level, int type
    private const int ControlRoom = CmsgHeader + 16; // CMSG_SPACE(4 descriptors): more than one is refused anyway

    private readonly ReceivedFiles _files = new();
    private long _received;

    private int _filesCreated;

    /// <summary>Shared-memory files this connection created to send (tests count them against the budget).</summary>
    internal int FilesCreated => Volatile.Read(ref _filesCreated);

    public long Received => _received;

    public ISharedFileTransport? Files => this;

    public OutgoingSharedFile CreateFile(int length)
    {
        Interlocked.Increment(ref _filesCreated);
        return MemfdFile.Create(length);
    }

    public OutgoingSharedFile CreateFile(ReadOnlySpan<byte> payload)
    {
        Interlocked.Increment(ref _filesCreated);
        return MemfdFile.CreateFrom(payload);
    }

    public int TrySendWithFile(ReadOnlySpan<byte> frame, OutgoingSharedFile file) => TrySendWithDescriptor(frame, ((MemfdFile)file).Descriptor);

    public OutgoingRing CreateRing(long capacity)
    {
        Interlocked.Increment(ref _filesCreated);
        return MemfdRing.Create(capacity);
    }

    public int TrySendWithFile(ReadOnlySpan<byte> frame, OutgoingRing ring) => TrySendWithDescriptor(frame, ((MemfdRing)ring).Descriptor);

    public IncomingRing TakeRing(long frameStart, SharedMemoryDescriptor descriptor) => _files.TakeRing(frameStart);

    private unsafe int TrySendWithDescriptor(ReadOnlySpan<byte> frame, int descriptor)
    {
        int fd = AddRefSocket(out SafeHandle handle);
        try
        {
            byte* control = stackalloc byte[CmsgHeader + 8];
            new Span<byte>(control, CmsgHeader + 8).Clear();
            *(nuint*)control = CmsgHeader + sizeof(int); // CMSG_LEN(one descriptor)
            *(int*)(control + 8) = SolSocket;
            *(int*)(control + 12) = ScmRights;
            *(int*)(control + CmsgHeader) = descriptor;
            fixed (byte* p = frame)
            {
                var iov = new Native.IoVec { Base = p, Length = (nuint)frame.Length };
                var message = new Native.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLength = CmsgHeader + 8 };
                return SendMessageNow(fd, &message);
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    public unsafe void WaitWritable(int milliseconds)
    {
        int fd = AddRefSocket(out SafeHandle handle);
        try
        {
            var poll = new Native.PollFd { Fd = fd, Events = PollOut };
            Native.poll(&poll, 1, milliseconds); // interrupted or timed out: the caller tries again
        }
        finally
        {
            handle.DangerousRelease();
        }
        ObjectDisposedException.ThrowIf(_closed, typeof(UnixSocketStream));
    }

    public unsafe long UnreadSendBytes
    {
        get
        {
            int fd = AddRefSocket(out SafeHandle handle);
            try
            {
                int queued;
                return MemfdNative.ioctl(fd, MemfdNative.SiocOutQ, &queued) == 0 ? queued : throw new IOException(MemfdNative.LastError("ioctl(SIOCOUTQ)"));
            }
            finally
            {
                handle.DangerousRelease();
            }
        }
    }

    public unsafe int TryReceiveWithFiles(Span<byte> first, Span<byte> second)
    {
        int fd = AddRefSocket(out SafeHandle handle);
        try
        {
            byte* control = stackalloc byte[ControlRoom];
            fixed (byte* a = first)
            fixed (byte* b = second)
            {
                Native.IoVec* iov = stackalloc Native.IoVec[2];
                iov[0] = new Native.IoVec { Base = a, Length = (nuint)first.Length };
                iov[1] = new Native.IoVec { Base = b, Length = (nuint)second.Length };
                while (true)
                {
                    var message = new Native.MsgHdr { Iov = iov, IovLen = 2, Control = control, ControlLength = ControlRoom };
                    long start = _received;
                    nint n = Native.recvmsg(fd, &message, MsgDontWait | MsgCmsgCloexec);
                    if (n >= 0)
                    {
                        _received += n;
                        TakeDescriptors(control, (int)message.ControlLength, (message.Flags & MsgCtrunc) != 0, start);
                        ObjectDisposedException.ThrowIf(n == 0 && _closed, typeof(UnixSocketStream));
                        return (int)n;
                    }
                    if (!RetryAfter(Marshal.GetLastPInvokeError(), "recvmsg", fd, PollIn, wait: false))
                    {
                        return -1;
                    }
                }
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    public unsafe void WaitReadable()
    {
        int fd = AddRefSocket(out SafeHandle handle);
        try
        {
            WaitReady(fd, PollIn);
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    public void CheckNoStrayFile(long frameStart) => _files.CheckNoStrayFile(frameStart);

    public SharedMemoryView TakeFile(long frameStart, long length) => _files.Take(frameStart, length);

    public void CloseQueuedFiles() => _files.CloseAll();

    /// <summary>
    /// Queues the descriptors a recvmsg brought (control messages of <paramref name="length"/> bytes). More than one, or a
    /// cut control message (the kernel closed what did not fit), is refused: every descriptor, queued or new, is closed.
    /// </summary>
    private unsafe void TakeDescriptors(byte* control, int length, bool cut, long readStart)
    {
        int count = 0, only = -1;
        for (int offset = 0; offset + CmsgHeader <= length;)
        {
            int cmsgLength = (int)*(nuint*)(control + offset);
            if (cmsgLength < CmsgHeader || offset + cmsgLength > length)
            {
                break;
            }
            if (*(int*)(control + offset + 8) == SolSocket && *(int*)(control + offset + 12) == ScmRights)
            {
                for (int i = CmsgHeader; i + sizeof(int) <= cmsgLength; i += sizeof(int))
                {
                    int received = *(int*)(control + offset + i);
                    if (count++ == 0)
                    {
                        only = received;
                    }
                    else
                    {
                        MemfdNative.close(received);
                    }
                }
            }
            offset += (cmsgLength + 7) & ~7; // CMSG_ALIGN
        }
        if (cut || count > 1)
        {
            if (only >= 0)
            {
                MemfdNative.close(only);
            }
            _files.CloseAll();
            throw new SharedMemoryException(cut
                ? "Refused a read whose control message was cut short: the peer sent more descriptors than one message may carry."
                : $"Refused a read that brought {count} files: a shared-memory frame carries exactly one.");
        }
        if (count == 1)
        {
            _files.Add(only, readStart, _received);
        }
    }

    /// <summary>The socket's descriptor, referenced until the caller releases <paramref name="handle"/>.</summary>
    private int AddRefSocket(out SafeHandle handle)
    {
        ObjectDisposedException.ThrowIf(_closed, typeof(UnixSocketStream));
        handle = _socket.SafeHandle;
        bool added = false;
        handle.DangerousAddRef(ref added);
        return (int)handle.DangerousGetHandle();
    }
}
