namespace NPipes;

/// <summary>The connection was closed (by either side) before the operation could complete.</summary>
public sealed class ConnectionClosedException : NPipesException
{
    /// <summary>Creates the exception with the reason the connection ended.</summary>
    public ConnectionClosedException(DisconnectReason reason, Exception? innerException = null)
        : base($"The pipe connection is closed ({reason}).", innerException)
    {
        Reason = reason;
    }

    /// <summary>Creates the exception with the reason and a message that says more than the reason.</summary>
    internal ConnectionClosedException(DisconnectReason reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the connection ended.</summary>
    public DisconnectReason Reason { get; }
}
