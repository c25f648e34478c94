namespace NPipes;

/// <summary>An error the server contained: a handler that threw, a connection that failed, or a failed accept.</summary>
public sealed class PipeServerErrorEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public PipeServerErrorEventArgs(PipeConnection? connection, Exception exception)
    {
        Connection = connection;
        Exception = exception;
    }

    /// <summary>The connection the error belongs to (already closed, or closing), or null for an accept error.</summary>
    public PipeConnection? Connection { get; }

    /// <summary>The error.</summary>
    public Exception Exception { get; }
}
