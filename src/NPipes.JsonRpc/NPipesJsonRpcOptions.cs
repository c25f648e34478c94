namespace NPipes;

/// <summary>
/// What one JSON-RPC connection may cost its receiver, and what its error replies reveal (docs/rpc.md, section 9).
/// Immutable; share freely.
/// </summary>
public sealed record NPipesJsonRpcOptions
{
    /// <summary>Every default: at most 264 requests (4 MiB of them) read and not yet answered; no stack traces in error replies.</summary>
    public static NPipesJsonRpcOptions Default { get; } = new();

    private readonly int _maxPendingRequests = 264;
    private readonly long _maxPendingRequestBytes = 4 * 1024 * 1024;

    /// <summary>
    /// How many of the peer's requests may be read and not yet answered at once: running, waiting to run, or with their
    /// response waiting to be written (a peer that does not read its replies keeps them waiting). At the limit the
    /// connection stops reading until a response has been written; nothing fails, the peer's sends just wait. Default
    /// 264, the Python servers' <c>max_workers + max_queued</c> (8 + 256).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxPendingRequests
    {
        get => _maxPendingRequests;
        init => _maxPendingRequests = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least one request must be allowed.");
    }

    /// <summary>
    /// How many payload bytes those requests may hold together (default 4 MiB). Reading pauses once they reach it; a
    /// request is always read when none is pending, so one message up to the frame's payload limit always gets through.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public long MaxPendingRequestBytes
    {
        get => _maxPendingRequestBytes;
        init => _maxPendingRequestBytes = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least one byte must be allowed.");
    }

    /// <summary>
    /// Error replies (StreamJsonRpc's <c>data</c> of -32000 and -32003) carry this process's stack traces. False (the
    /// default): never. True: only to a peer known to run as this process's own OS user (on Unix its socket's peer
    /// user id; on Windows a connection of a current-user-only server or client); every other peer gets the type and
    /// message without the stack.
    /// </summary>
    public bool IncludeStackTraces { get; init; }
}
