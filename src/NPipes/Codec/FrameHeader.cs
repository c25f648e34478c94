namespace NPipes;

/// <summary>The two length fields at the start of a frame, already validated against the options.</summary>
/// <param name="MessageLength">The number of bytes after the MessageLength field: <c>DataLength + 8</c>.</param>
/// <param name="DataLength">The number of payload bytes.</param>
public readonly record struct FrameHeader(uint MessageLength, uint DataLength)
{
    /// <summary>The whole frame's length in bytes: header, payload and CRC field.</summary>
    public long FrameLength => FrameCodec.Overhead + (long)DataLength;
}
