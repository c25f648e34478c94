namespace NPipes;

/// <summary>
/// A shared-memory transfer (docs/shared-memory.md) was refused: a malformed descriptor frame, a file missing, extra or
/// not as announced (not a sealed memfd of the announced size), or a payload over the limit. Like every frame error
/// found on receipt it closes the connection; nothing refused is mapped or handed out.
/// </summary>
public sealed class SharedMemoryException : FrameException
{
    /// <summary>Creates the exception with a message naming the check that failed.</summary>
    public SharedMemoryException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public SharedMemoryException(string message, Exception? innerException) : base(message, innerException) { }
}
