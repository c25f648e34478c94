namespace NPipes;

/// <summary>The CRC-32 carried by a frame does not match its payload. The payload is never handed out.</summary>
public sealed class CrcMismatchException : FrameException
{
    /// <summary>Creates the exception for the CRC in the frame and the CRC computed over the payload.</summary>
    public CrcMismatchException(uint expected, uint actual)
        : base($"CRC mismatch: the frame carries 0x{expected:x8} but the payload's CRC-32 is 0x{actual:x8}.")
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The CRC the frame carried.</summary>
    public uint Expected { get; }

    /// <summary>The CRC computed over the received payload.</summary>
    public uint Actual { get; }
}
