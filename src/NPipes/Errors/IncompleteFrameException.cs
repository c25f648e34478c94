namespace NPipes;

/// <summary>The peer closed the pipe in the middle of a frame: the bytes received so far are discarded.</summary>
public sealed class IncompleteFrameException : FrameException
{
    /// <summary>Creates the exception for the number of bytes of the frame that arrived.</summary>
    public IncompleteFrameException(long received, long expected)
        : base(expected > 0
            ? $"The peer closed the pipe mid-frame: {received} of {expected} bytes arrived."
            : $"The peer closed the pipe mid-frame: {received} of the 8 header bytes arrived.")
    {
        Received = received;
        Expected = expected;
    }

    /// <summary>The bytes of the frame that arrived.</summary>
    public long Received { get; }

    /// <summary>The frame's length, when its header had arrived; otherwise 0.</summary>
    public long Expected { get; }
}
