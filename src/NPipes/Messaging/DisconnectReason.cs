namespace NPipes;

/// <summary>Why a <see cref="PipeConnection"/> ended.</summary>
public enum DisconnectReason
{
    /// <summary>The connection is still open.</summary>
    None = 0,

    /// <summary>This side closed it.</summary>
    LocalClose,

    /// <summary>The peer closed the pipe cleanly, between frames.</summary>
    PeerClosed,

    /// <summary>The peer closed the pipe, or died, in the middle of a frame.</summary>
    PeerDiedMidFrame,

    /// <summary>The peer sent bytes that are not a valid frame (bad lengths, oversized, CRC mismatch). Invalid text in a
    /// frame read whole does not close the connection (see <see cref="InvalidTextException"/>).</summary>
    ProtocolError,

    /// <summary>
    /// This side gave up on the connection's framing and closed it: an operation was cancelled or timed out part-way
    /// through a frame (the stream lost frame sync); a request was cancelled or timed out after its frame had been written
    /// (its reply would reach a later request); or a second reader received on a connection used for requests (replies
    /// can no longer be matched to requests).
    /// </summary>
    Aborted,

    /// <summary>An I/O error on the pipe (for example a broken pipe on write).</summary>
    IOError,

    /// <summary>A receive waited longer than the server's idle timeout (<see cref="PipeServerOptions.IdleTimeout"/>) for the peer's next bytes.</summary>
    IdleTimeout,

    /// <summary>A send waited longer than the server's write timeout (<see cref="PipeServerOptions.WriteTimeout"/>) because the peer did not read.</summary>
    WriteTimeout,

    /// <summary>A frame took longer than the server's frame timeout (<see cref="PipeServerOptions.FrameTimeout"/>) to arrive in full: a peer trickling bytes.</summary>
    FrameTimeout,
}
