namespace NPipes.Messaging.Writing;

/// <summary>
/// How a connection writes frames. <see cref="FrameWriter"/> writes each frame with one write before returning (message
/// pipes); <see cref="CoalescingFrameWriter"/> also queues (<see cref="IQueuedFrameWriter"/>).
/// </summary>
internal interface IFrameWriter
{
    /// <summary>True while a frame has been partly written by a call that can be cancelled: an interruption now leaves the stream out of sync.</summary>
    bool InFrame { get; }

    /// <summary>The writer of shared-memory frames (docs/shared-memory.md), when the connection has shared memory on.</summary>
    SharedMemoryFrameWriter? Shared { get; }

    /// <summary>Writes or queues one frame.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> payload, FrameOptions options, bool sync, CancellationToken cancellationToken);

    /// <summary>Writes or queues one text frame.</summary>
    ValueTask WriteTextAsync(string text, FrameOptions options, bool sync, CancellationToken cancellationToken);
}

/// <summary>
/// A frame writer whose sends may complete before their bytes are written (byte streams): queued frames go out in few
/// large writes, from a background flush or from a caller that needs them out now.
/// </summary>
internal interface IQueuedFrameWriter : IFrameWriter
{
    /// <summary>The error that ended an earlier (possibly background) write, or null.</summary>
    Exception? Failure { get; }

    /// <summary>Gets queued frames moving now, without waiting for the peer (before a read, after a request).</summary>
    ValueTask PushAsync(bool sync);

    /// <summary>
    /// A frame was received and the peer has sent nothing after it: the peer probably waits for an answer, so the next
    /// frame is written at once instead of being held for coalescing.
    /// </summary>
    void AnswerDue();

    /// <summary>Waits until every frame queued before the call has been written to the stream.</summary>
    ValueTask FlushAsync(bool sync, CancellationToken cancellationToken);

    /// <summary>Before closing: writes what is queued, giving up when no byte could be written for <paramref name="stall"/>.</summary>
    ValueTask FlushForCloseAsync(bool sync, TimeSpan stall);

    /// <summary>The connection closed: nothing more will be written; waiting senders fail.</summary>
    void Close();
}
