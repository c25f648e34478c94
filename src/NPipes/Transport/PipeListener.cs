namespace NPipes.Transport;

/// <summary>A pipe server: holds the name and hands out connected streams, one per client.</summary>
internal abstract class PipeListener : IDisposable
{
    protected PipeListener(string name) => Name = name;

    /// <summary>The pipe name this listener holds.</summary>
    public string Name { get; }

    /// <summary>Creates a server on <paramref name="name"/>.</summary>
    /// <exception cref="PipeNameInUseException">Another live server holds the name, or a file that may not be reclaimed.</exception>
    /// <exception cref="PipePathOccupiedException">Something that is not a socket is at the pipe's path (Unix).</exception>
    public static PipeListener Create(string name, ListenOptions options)
    {
        PipeNames.Validate(name);
        return PipePlatform.Current.Listen(name, options);
    }

    /// <summary>Told who it was when a client that got through to the listener is dropped by the access rule (Windows refuses most in the OS, unseen).</summary>
    public Action<PeerIdentity>? AccessRefused { get; set; }

    /// <summary>Waits for the next client and returns its connected stream.</summary>
    public abstract ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken);

    /// <summary>Stops listening and releases the name.</summary>
    public abstract void Dispose();
}
