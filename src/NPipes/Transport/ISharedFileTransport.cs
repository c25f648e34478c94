using System.Buffers;

namespace NPipes.Transport;

/// <summary>
/// Shared-memory files on a connected socket (docs/shared-memory.md §3, §4, §8): files that carry large payloads (kind 1)
/// or the ring (kind 2, flags bit 0), handed to the peer with their descriptor frame. Offered by the Linux socket stream of
/// the net10.0 build (<see cref="ISharedMemoryTransport.Files"/>); absent on Windows, where no file travels (§9). Once a
/// connection uses it, every read of the socket goes through <see cref="TryReceiveWithFiles"/>, which takes the files
/// that arrive along with the bytes.
/// </summary>
internal interface ISharedFileTransport
{
    /// <summary>A new writable shared-memory file of <paramref name="length"/> bytes, mapped into this process (§3.1).</summary>
    /// <exception cref="IOException">The system refused (out of memory, too many files).</exception>
    OutgoingSharedFile CreateFile(int length);

    /// <summary>
    /// A new shared-memory file holding a copy of <paramref name="payload"/>, written with <c>pwrite</c> and never mapped
    /// here (§3.1: measured faster than mapping, faulting and unmapping): only <see cref="OutgoingSharedFile.Seal"/> remains.
    /// </summary>
    /// <exception cref="IOException">The system refused (out of memory, too many files).</exception>
    OutgoingSharedFile CreateFile(ReadOnlySpan<byte> payload);

    /// <summary>
    /// One non-blocking send of the start of <paramref name="frame"/> carrying <paramref name="file"/>'s descriptor (§3.3):
    /// the bytes sent (the file went with them, and the caller closes it), or 0 when the socket is full (nothing went).
    /// </summary>
    /// <exception cref="IOException">The connection is broken.</exception>
    int TrySendWithFile(ReadOnlySpan<byte> frame, OutgoingSharedFile file);

    /// <summary>As <see cref="TrySendWithFile(ReadOnlySpan{byte}, OutgoingSharedFile)"/>, carrying the ring's file (§8: its first frame).</summary>
    /// <exception cref="IOException">The connection is broken.</exception>
    int TrySendWithFile(ReadOnlySpan<byte> frame, OutgoingRing ring);

    /// <summary>Waits up to <paramref name="milliseconds"/> for the socket to take more bytes.</summary>
    void WaitWritable(int milliseconds);

    /// <summary>Bytes sent on the socket that the peer has not read yet (SIOCOUTQ).</summary>
    long UnreadSendBytes { get; }

    /// <summary>
    /// Takes what has arrived (filling <paramref name="first"/>, then <paramref name="second"/>) with one non-blocking
    /// recvmsg, queueing any files that arrive with it. -1: nothing has arrived; 0: end of stream.
    /// </summary>
    /// <exception cref="SharedMemoryException">The read brought more than one file, or a cut control message (§4.1).</exception>
    /// <exception cref="IOException">The connection is broken.</exception>
    int TryReceiveWithFiles(Span<byte> first, Span<byte> second);

    /// <summary>Blocks until the socket has something to read (or is closed); for synchronous reads.</summary>
    void WaitReadable();

    /// <summary>Every byte <see cref="TryReceiveWithFiles"/> has taken so far: the stream position reads are counted in.</summary>
    long Received { get; }

    /// <summary>
    /// A frame that is not a descriptor frame ends at stream position <paramref name="frameEnd"/>: a queued file whose
    /// read ended there or before came with that frame's bytes (or earlier ones), belongs to no descriptor frame (§4.1),
    /// and is refused. (A file whose read goes on past the frame belongs to a descriptor frame that follows it.)
    /// </summary>
    /// <exception cref="SharedMemoryException">Such a file is queued (all queued files are closed).</exception>
    void CheckNoStrayFile(long frameEnd);

    /// <summary>
    /// The descriptor frame that starts at <paramref name="frameStart"/> takes its file (the oldest queued, which must have
    /// arrived in a read holding the frame's first byte): checks §4.1-4.5 in order and
    /// maps it read-only (the descriptor is closed). The payload's CRC is not checked here.
    /// </summary>
    /// <exception cref="SharedMemoryException">A check failed; nothing is mapped, every queued file is closed.</exception>
    SharedMemoryView TakeFile(long frameStart, long length);

    /// <summary>Closes every queued file (the connection is closing).</summary>
    void CloseQueuedFiles();
}

/// <summary>A sender's shared-memory file, mapped writable until <see cref="Seal"/>.</summary>
internal abstract class OutgoingSharedFile : MemoryManager<byte>
{
    /// <summary>Unmaps the file and seals it against any change (§3.2); the memory is gone from here on.</summary>
    /// <exception cref="IOException">The system refused a seal.</exception>
    public abstract void Seal();
}

/// <summary>A received payload's read-only mapping (§4.5). <see cref="Release"/> unmaps it.</summary>
internal abstract class SharedMemoryView : MemoryManager<byte>
{
    /// <summary>Unmaps the payload; the view may be reused for another. Safe to call once per mapping only.</summary>
    public abstract void Release();
}
