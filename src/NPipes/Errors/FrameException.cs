namespace NPipes;

/// <summary>
/// A frame on the pipe is not valid: bad lengths, a CRC mismatch, invalid text, or a frame cut short.
/// After this error the stream is out of frame sync, so a connection that raised it is closed.
/// </summary>
public class FrameException : NPipesException
{
    /// <summary>Creates the exception with a message.</summary>
    public FrameException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public FrameException(string message, Exception? innerException) : base(message, innerException) { }
}
