namespace NPipes.Messaging.Writing;

/// <summary>
/// The stream's write side, owned by one writer at a time: what a shared-memory frame (docs/shared-memory.md) takes
/// before it goes out, so that frames stay whole and in order. <see cref="SendQueue"/> (byte streams: queued frames are
/// written first, and every byte is counted for flushes) and <see cref="FrameWriter"/> (message pipes: one write per
/// frame, nothing queued) offer it.
/// </summary>
internal interface IWriteSide
{
    /// <summary>Waits until the caller owns the write side.</summary>
    /// <exception cref="IOException">An earlier write failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    ValueTask AcquireAsync(bool sync, CancellationToken cancellationToken);

    /// <summary>The owner writes whatever was queued ahead of its frame.</summary>
    /// <exception cref="IOException">The write failed.</exception>
    ValueTask WriteQueuedAsync(bool sync);

    /// <summary>The owner is about to write <paramref name="count"/> bytes of its own.</summary>
    void AddEnqueued(long count);

    /// <summary>The owner wrote <paramref name="count"/> bytes of its own.</summary>
    void AddWritten(long count);

    /// <summary>The owner's write failed: later writers fail with <paramref name="error"/>.</summary>
    void Fail(Exception error);

    /// <summary>The owner gives the write side up.</summary>
    void Release();
}
