using System.Net.Sockets;

namespace NPipes.Transport;

/// <summary>The net10.0 build's Linux fast path of <see cref="UnixSocketStream"/>: reads and writes through <see cref="LinuxSocketIO"/>.</summary>
internal sealed partial class UnixSocketStream
{
    private LinuxSocketIO? _linux;

    public IDirectSend? DirectSend => _linux;

    public IDirectReceive? DirectReceive => _linux;

    public ISharedMemoryTransport? SharedMemory => _linux;

    partial void AttachFastPath(Socket socket) => _linux = LinuxSocketIO.TryCreate(socket);

    partial void DetachFastPath() => _linux?.MarkClosed();

    partial void UnreadByPeer(ref long unread)
    {
        if (_linux is not null)
        {
            unread = _linux.UnreadSendBytes;
        }
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer) => _linux is not null ? _linux.Read(buffer) : base.Read(buffer);

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(new ReadOnlySpan<byte>(buffer, offset, count));
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_linux is not null)
        {
            _linux.Write(buffer);
        }
        else
        {
            base.Write(buffer);
        }
    }
}
