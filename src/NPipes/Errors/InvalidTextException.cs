namespace NPipes;

/// <summary>Text cannot be represented in, or bytes are not valid in, the configured encoding.</summary>
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
