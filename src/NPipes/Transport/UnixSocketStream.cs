using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Unix connection stream: a <see cref="NetworkStream"/> over a connected AF_UNIX socket, a byte stream (no message
/// boundaries). On Linux in the net10.0 build its synchronous Read and Write, and the non-blocking sends and receives it
/// offers as <see cref="DirectSend"/> and <see cref="DirectReceive"/>, go straight to the socket on the calling thread
/// (UnixSocketStream.Linux.cs); elsewhere, and in the netstandard2.0 build, it is a plain <see cref="NetworkStream"/>
/// and offers neither (UnixSocketStream.Portable.cs).
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed partial class UnixSocketStream : NetworkStream, ITransportStream
{
    /// <summary>
    /// The socket send buffer asked for (Linux doubles it for bookkeeping and caps it at net.core.wmem_max). The default
    /// (about 200 KB of bookkeeping) holds barely two 64 KiB frames, so a sender of large messages stalls on every
    /// frame and the reader gets them piecemeal; with room for several frames both sides make about a third fewer system
    /// calls and wake-ups per message (measured: 64 KiB and 1 MiB one-way 20-30 % faster). The kernel allocates only
    /// for bytes in flight, so an idle connection costs nothing more; a peer that stops reading just blocks the sender
    /// later.
    /// </summary>
    internal const int SendBufferSize = 1024 * 1024;

    /// <summary>A stream over a socket whose peer is not known (tests).</summary>
    public UnixSocketStream(Socket socket) : this(socket, PeerIdentity.Unknown)
    {
    }

    public UnixSocketStream(Socket socket, PeerIdentity peer) : base(socket, ownsSocket: true)
    {
        Peer = peer;
        AttachFastPath(socket);
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

    public PeerIdentity Peer { get; }

    /// <summary>The connected socket (NetworkStream.Socket is protected in netstandard2.0).</summary>
    internal Socket ConnectedSocket => Socket;

    /// <summary>Takes the Linux fast path where this build has one.</summary>
    partial void AttachFastPath(Socket socket);

    /// <summary>Tells the fast path (if any) that the socket is closing.</summary>
    partial void DetachFastPath();

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
            while ((n = await ReadAsync(sink, 0, sink.Length, cancellationToken).ConfigureAwait(false)) > 0)
            {
                wroteBack += n;
            }
            return wroteBack == 0 && !LeftUnread();
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// After the peer's end of stream: whether it closed with bytes of ours unread. The end of stream can come from the
    /// peer's shutdown just before its close (.NET shuts a socket down to end operations pending on it), and a receiver
    /// that refused a frame from its header then looks like one that read it all (seen under load). Linux keeps our bytes
    /// counted until the peer has read them (SIOCOUTQ) and sets the reset before it frees them at close (SO_ERROR), so
    /// reading the two in this order misses neither case.
    /// </summary>
    private bool LeftUnread()
    {
        long unread = -1;
        UnreadByPeer(ref unread);
        return unread > 0 || Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int error && error != 0;
    }

    /// <summary>Our bytes the peer has not read yet (SIOCOUTQ), where the fast path can ask; else left as it is.</summary>
    partial void UnreadByPeer(ref long unread);

    protected override void Dispose(bool disposing)
    {
        DetachFastPath();
        base.Dispose(disposing);
    }
}
