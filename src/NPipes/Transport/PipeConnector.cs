namespace NPipes.Transport;

/// <summary>Connects to a pipe server with a real timeout and cancellation.</summary>
internal static class PipeConnector
{
    /// <summary>Connects, waiting up to <paramref name="timeout"/> for a server to appear.</summary>
    /// <exception cref="TimeoutException">No server accepted within the timeout.</exception>
    /// <exception cref="UnauthorizedAccessException">Current-user-only is on and the server runs as another user.</exception>
    public static async ValueTask<Stream> ConnectAsync(string name, bool currentUserOnly, TimeSpan timeout, CancellationToken cancellationToken)
    {
        PipeName.Validate(name);
        var deadline = Deadline.After(timeout);
        return OperatingSystem.IsWindows()
            ? await WindowsPipeConnector.ConnectAsync(name, currentUserOnly, deadline, cancellationToken).ConfigureAwait(false)
            : await UnixPipeConnector.ConnectAsync(name, currentUserOnly, deadline, cancellationToken).ConfigureAwait(false);
    }
}
