namespace NPipes;

/// <summary>
/// Text cannot be represented in, or bytes are not valid in, the configured encoding. It is raised when text is encoded
/// for sending (nothing is sent) or when a payload is decoded as text after its frame was read whole; either way the
/// frame sync is intact and the connection stays open. (A server answering text requests closes the connection of a
/// client whose request is not valid text: see <see cref="PipeServer.ServeRequestsAsync(Func{string, CancellationToken, ValueTask{string}}, CancellationToken)"/>.)
/// </summary>
public sealed class InvalidTextException : FrameException
{
    /// <summary>Creates the exception for an encoding and the error it raised.</summary>
    public InvalidTextException(string encodingName, bool decoding, Exception? innerException)
        : base(decoding
            ? $"The payload is not valid {encodingName} text."
            : $"The text cannot be encoded as {encodingName}.", innerException)
    {
        EncodingName = encodingName;
    }

    /// <summary>The name of the encoding that refused the text or bytes.</summary>
    public string EncodingName { get; }
}
