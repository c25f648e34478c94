using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Unix connection stream: a <see cref="NetworkStream"/> over a connected AF_UNIX socket, a byte stream (no message
/// boundaries). On Linux its synchronous Read and Write, and the non-blocking sends and receives it offers as
/// <see cref="DirectSend"/> and <see cref="DirectReceive"/>, go straight to the socket on the calling thread (<see cref="LinuxSocketIO"/>); on other Unix
/// systems it is a plain <see cref="NetworkStream"/> and offers neither.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class UnixSocketStream : NetworkStream, ITransportStream
{
    private readonly LinuxSocketIO? _linux;

    /// <summary>
    /// The socket send buffer asked for (Linux doubles it for bookkeeping and caps it at net.core.wmem_max). The default
    /// (about 200 KB of bookkeeping) holds barely two 64 KiB frames, so a sender of large messages stalls on every
    /// frame and the reader gets them piecemeal; with room for several frames both sides make about a third fewer system
    /// calls and wake-ups per message (measured: 64 KiB and 1 MiB one-way 20-30 % faster). The kernel allocates only
    /// for bytes in flight, so an idle connection costs nothing more; a peer that stops reading just blocks the sender
    /// later.
    /// </summary>
    internal const int SendBufferSize = 1024 * 1024;

    public UnixSocketStream(Socket socket) : base(socket, ownsSocket: true)
    {
        _linux = LinuxSocketIO.TryCreate(socket);
        try
        {
            socket.SendBufferSize = SendBufferSize;
        }
        catch (SocketException)
        {
            // A system that refuses keeps its default: slower for large messages, nothing else.
        }
    }

    public bool IsMessageMode => false;

    public IDirectSend? DirectSend => _linux;

    public IDirectReceive? DirectReceive => _linux;

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

    /// <summary>
    /// Half-closes (the peer reads end of stream after our frame) and reads until the peer closes. A receiver sends
    /// nothing back and closes once it has read; a peer that writes is not a receiver (two senders met), and a reset means
    /// the connection was dropped unread (a receiver that closed its listener with this connection still in the backlog).
    /// </summary>
    public async ValueTask<bool> ConfirmDeliveredAsync(CancellationToken cancellationToken)
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
            byte[] sink = new byte[256];
            int wroteBack = 0;
            int n;
            while ((n = await ReadAsync(sink, cancellationToken).ConfigureAwait(false)) > 0)
            {
                wroteBack += n;
            }
            return wroteBack == 0;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return false;
        }
    }

    protected override void Dispose(bool disposing)
    {
        _linux?.MarkClosed();
        base.Dispose(disposing);
    }
}
