namespace NPipes;

/// <summary>
/// A frame is not valid: bad lengths, a CRC mismatch, a frame cut short, a payload over the limit, or text the encoding
/// cannot carry.
/// </summary>
/// <remarks>
/// What happens to the connection depends on where the error was found. A frame that arrived invalid (bad lengths, an
/// announced payload over the limit, a CRC mismatch, a frame cut short) leaves the stream out of frame sync, so the
/// connection that read it is closed (<see cref="DisconnectReason.ProtocolError"/> or
/// <see cref="DisconnectReason.PeerDiedMidFrame"/>). The connection stays open after an error found before sending (a
/// payload over the limit, text that cannot be encoded: nothing is sent), and after an <see cref="InvalidTextException"/>
/// raised while decoding a frame that was read whole.
/// </remarks>
public class FrameException : NPipesException
{
    /// <summary>Creates the exception with a message.</summary>
    public FrameException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public FrameException(string message, Exception? innerException) : base(message, innerException) { }
}
