namespace NPipes;

/// <summary>A length prefix (or a payload to send) exceeds the configured maximum. Detected before anything is allocated.</summary>
public sealed class FrameTooLargeException : FrameException
{
    /// <summary>Creates the exception for a declared payload length and the limit it broke.</summary>
    public FrameTooLargeException(long declaredLength, long maxPayloadLength)
        : base($"Frame payload of {declaredLength} bytes exceeds the maximum of {maxPayloadLength} bytes (FrameOptions.MaxPayloadLength).")
    {
        DeclaredLength = declaredLength;
        MaxPayloadLength = maxPayloadLength;
    }

    /// <summary>The payload length the frame declared (or the payload's length, on send).</summary>
    public long DeclaredLength { get; }

    /// <summary>The configured maximum.</summary>
    public long MaxPayloadLength { get; }
}
