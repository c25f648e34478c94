namespace NPipes;

/// <summary>A length prefix (or a payload to send) exceeds the configured maximum. Detected before anything is allocated.</summary>
public sealed class FrameTooLargeException : FrameException
{
    /// <summary>Creates the exception for a declared payload length and the limit it broke.</summary>
    public FrameTooLargeException(long declaredLength, long maxPayloadLength)
        : this(declaredLength, maxPayloadLength, "")
    {
    }

    /// <summary>As the public constructor, the message followed by <paramref name="hint"/> (<see cref="MismatchHint"/>).</summary>
    internal FrameTooLargeException(long declaredLength, long maxPayloadLength, string hint)
        : base($"Frame payload of {declaredLength} bytes exceeds the maximum of {maxPayloadLength} bytes (FrameOptions.MaxPayloadLength).{hint}")
    {
        DeclaredLength = declaredLength;
        MaxPayloadLength = maxPayloadLength;
    }

    /// <summary>The payload length the frame declared (or the payload's length, on send).</summary>
    public long DeclaredLength { get; }

    /// <summary>The configured maximum.</summary>
    public long MaxPayloadLength { get; }
}
