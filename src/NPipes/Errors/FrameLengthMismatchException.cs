namespace NPipes;

/// <summary>A frame's MessageLength is not its DataLength + 8: the bytes are not an npipes frame.</summary>
public sealed class FrameLengthMismatchException : FrameException
{
    /// <summary>Creates the exception for the two lengths read.</summary>
    public FrameLengthMismatchException(uint messageLength, uint dataLength)
        : this(messageLength, dataLength, "")
    {
    }

    /// <summary>As the public constructor, the message followed by <paramref name="hint"/> (<see cref="MismatchHint"/>).</summary>
    internal FrameLengthMismatchException(uint messageLength, uint dataLength, string hint)
        : base($"Malformed frame: MessageLength is {messageLength} but DataLength + 8 is {(ulong)dataLength + 8}.{hint}")
    {
        MessageLength = messageLength;
        DataLength = dataLength;
    }

    /// <summary>The MessageLength field as read.</summary>
    public uint MessageLength { get; }

    /// <summary>The DataLength field as read.</summary>
    public uint DataLength { get; }
}
