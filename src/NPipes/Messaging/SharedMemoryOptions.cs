namespace NPipes;

/// <summary>
/// Large messages through shared memory (docs/shared-memory.md): set <see cref="NPipesOptions.SharedMemory"/> on both
/// sides. A payload of at least <see cref="MinPayloadLength"/> bytes then travels through shared memory: in a slot of the
/// connection's ring (§8: written once by the sender, copied out once by the receiver, no page allocated per message), or,
/// larger than the ring, in a sealed memfd of its own handed over with the frame and read in place (Linux) or inline
/// (Windows, where the ring is an unnamed section the receiver takes from the sender's process, §9); smaller ones go
/// inline. Windows (both builds) and Linux (the net10.0 build); elsewhere (macOS, the netstandard2.0 build on Linux, §7)
/// opting in is refused when the connection is made. Immutable; share freely.
/// </summary>
public sealed record SharedMemoryOptions
{
    /// <summary>The default threshold: 65,536 bytes.</summary>
    public const int DefaultMinPayloadLength = 64 * 1024;

    /// <summary>The default in-flight budget: 67,108,864 bytes (64 MiB).</summary>
    public const long DefaultMaxInFlightBytes = 64L * 1024 * 1024;

    /// <summary>Options with the defaults.</summary>
    public static SharedMemoryOptions Default { get; } = new();

    /// <summary>
    /// The smallest payload this side sends through shared memory (default 65,536); smaller ones go inline. Receiving
    /// takes both kinds whatever this is. The two sides need not agree.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MinPayloadLength
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The threshold is at least 1 byte: an empty payload never travels through shared memory.");
    } = DefaultMinPayloadLength;

    /// <summary>
    /// How many payload bytes this side may have sent through shared memory that the peer has not yet read (default
    /// 64 MiB). It is also the ring's capacity (§8: rounded up to a multiple of 4096, at most 1 GiB), allocated on first
    /// use; a slot waits for room in the ring, and a payload larger than the ring goes in a file of its own under this
    /// budget (§3.4: a send that would exceed it waits until the peer has read everything sent so far), both within the
    /// send's cancellation. A peer that stops reading therefore pins at most the ring plus this plus one payload. On
    /// Windows no file is used (§9): a payload larger than the ring goes inline, and at most the ring is pinned.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public long MaxInFlightBytes
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The in-flight budget is at least 1 byte.");
    } = DefaultMaxInFlightBytes;
}
