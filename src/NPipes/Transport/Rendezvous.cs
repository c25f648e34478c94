namespace NPipes.Transport;

/// <summary>
/// How the two sides of <see cref="Ipc"/> meet: whichever side finds a server connects to it; a side that finds none
/// creates a single-instance pipe and waits. So either side may start first, or both at once. Unix follows
/// docs/unix-endpoint.md §8; Windows keeps npipes' own order, so npipes 1.0.1 peers meet NPipes as they meet each other.
/// </summary>
internal static class Rendezvous
{
    /// <summary>
    /// A connected stream, plus the listener when this side became the server (to accept again if a client leaves
    /// empty-handed). <paramref name="receiver"/>: on Windows a receiver never creates the pipe but waits for the
    /// sender to, because npipes 1.0.1's sender can only create it.
    /// </summary>
    /// <exception cref="PipePathOccupiedException">Something that is not a socket is at the pipe's path (Unix).</exception>
    /// <exception cref="PipeNameInUseException">A file that may not be reclaimed holds the name (Unix).</exception>
    /// <exception cref="UnauthorizedAccessException">The server found runs as a user <see cref="NPipesOptions.TrustedServers"/> does not admit.</exception>
    public static ValueTask<(Stream Stream, PipeListener? Listener)> MeetAsync(string name, NPipesOptions options, bool receiver, CancellationToken cancellationToken) =>
        PipePlatform.Current.MeetAsync(name, new ListenOptions(options.Access, options.TrustedServers, options.PipeBufferSize, MaxInstances: 1), receiver, cancellationToken);
}
