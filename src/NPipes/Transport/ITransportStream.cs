namespace NPipes.Transport;

/// <summary>
/// What a connected pipe offers the messaging layer beyond <see cref="Stream"/>. The listener and the connector hand out
/// streams that implement it (<see cref="UnixSocketStream"/> on Unix, <see cref="WindowsPipeStream"/> on Windows), so
/// Messaging asks for a capability and never for the platform. A stream without it (a test double) is a byte stream with
/// no direct send and nothing to confirm.
/// </summary>
internal interface ITransportStream
{
    /// <summary>
    /// Each write reaches the peer as one message (Windows message-mode pipes, what npipes 1.0.1 reads): a frame must be
    /// exactly one write, never coalesced with another frame and never split. False for byte streams (Unix sockets).
    /// </summary>
    bool IsMessageMode { get; }

    /// <summary>Who is at the other end, as the OS reported it when the connection was made (read once, by the listener or connector).</summary>
    PeerIdentity Peer { get; }

    /// <summary>Non-blocking sends on the caller's thread (the Linux socket path), or null where the transport has none.</summary>
    IDirectSend? DirectSend { get; }

    /// <summary>Non-blocking receives on the caller's thread (the Linux socket path), or null where the transport has none.</summary>
    IDirectReceive? DirectReceive { get; }

    /// <summary>Large payloads through shared memory (docs/shared-memory.md): the Linux socket of the net10.0 build, else null.</summary>
    ISharedMemoryTransport? SharedMemory { get; }

    /// <summary>
    /// For one-message-per-connection senders, once everything has been written to the stream: waits until the peer has
    /// taken it. True when the peer read and closed (or, on a message pipe, drained it); false when the peer wrote back
    /// (another sender, not a receiver) or the connection was reset unread, so the message was not delivered.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    ValueTask<bool> ConfirmDeliveredAsync(CancellationToken cancellationToken);
}

/// <summary>Sends that never block: as many bytes as the transport takes at once go; the caller writes the rest through the stream.</summary>
internal interface IDirectSend
{
    /// <summary>Sends as much of <paramref name="buffer"/> as the transport takes without blocking; returns how many bytes went (0: would block).</summary>
    /// <exception cref="IOException">The connection is broken.</exception>
    int TrySend(ReadOnlySpan<byte> buffer);

    /// <summary>Sends as much of the three buffers, in order, as the transport takes in one call without blocking; returns how many bytes went.</summary>
    /// <exception cref="IOException">The connection is broken.</exception>
    int TrySendGather(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<byte> third);
}

/// <summary>
/// Receives that do not wait for the peer: what has arrived is taken at once, on the caller's thread (no socket-engine
/// round trip, no thread hop). A caller that gets nothing waits through the stream, so whatever watches the stream's
/// reads (a server's idle watchdog) still sees every wait.
/// </summary>
internal interface IDirectReceive
{
    /// <summary>
    /// Takes what has arrived, up to <paramref name="first"/>.Length + <paramref name="second"/>.Length bytes, filling
    /// <paramref name="first"/> before <paramref name="second"/>, in one call. With <paramref name="spin"/>, when nothing
    /// is there yet it may keep trying for a few tens of microseconds (never longer; not at all where that is unlikely to
    /// pay), so that a reply about to arrive is taken on this thread instead of after a wake-up.
    /// </summary>
    /// <returns>The number of bytes taken; 0 at end of stream; -1 when nothing was taken (nothing had arrived, or the
    /// transport left looking to the stream because nothing ever has lately): the caller reads through the stream.</returns>
    /// <exception cref="ArgumentException">Both buffers are empty.</exception>
    /// <exception cref="IOException">The connection is broken.</exception>
    /// <exception cref="ObjectDisposedException">The stream was closed.</exception>
    int TryReceive(Span<byte> first, Span<byte> second, bool spin);
}
