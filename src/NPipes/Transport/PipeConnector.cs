namespace NPipes.Transport;

/// <summary>Connects to a pipe server with a real timeout and cancellation.</summary>
internal static class PipeConnector
{
    /// <summary>Connects, waiting up to <paramref name="timeout"/> for a server to appear.</summary>
    /// <exception cref="TimeoutException">No server accepted within the timeout.</exception>
    /// <exception cref="UnauthorizedAccessException">The server runs as a user <paramref name="trusted"/> does not admit.</exception>
    /// <exception cref="PipePathOccupiedException">Something that is not a socket is at the pipe's path (Unix).</exception>
    public static ValueTask<Stream> ConnectAsync(string name, PipeAccess trusted, TimeSpan timeout, CancellationToken cancellationToken)
    {
        PipeNames.Validate(name);
        return PipePlatform.Current.ConnectAsync(name, trusted, Deadline.After(timeout), cancellationToken);
    }
}
