namespace NPipes.Transport;

/// <summary>Connects to a pipe server with a real timeout and cancellation.</summary>
internal static class PipeConnector
{
    /// <summary>Connects, waiting up to <paramref name="timeout"/> for a server to appear.</summary>
    /// <exception cref="TimeoutException">No server accepted within the timeout.</exception>
    /// <exception cref="UnauthorizedAccessException">Current-user-only is on and the server runs as another user.</exception>
    /// <exception cref="PipePathOccupiedException">Something that is not a socket is at the pipe's path (Unix).</exception>
    public static ValueTask<Stream> ConnectAsync(string name, bool currentUserOnly, TimeSpan timeout, CancellationToken cancellationToken)
    {
        PipeNames.Validate(name);
        return PipePlatform.Current.ConnectAsync(name, currentUserOnly, Deadline.After(timeout), cancellationToken);
    }
}
