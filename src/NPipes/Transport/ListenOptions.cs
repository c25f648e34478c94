namespace NPipes.Transport;

/// <summary>What the transport needs to know to create a pipe server.</summary>
/// <param name="Access">Who may connect (docs/access.md).</param>
/// <param name="TrustedServers">For a rendezvous that ends up connecting: which servers it talks to.</param>
/// <param name="BufferSize">Windows pipe buffer sizes, in and out.</param>
/// <param name="MaxInstances">Windows instance limit: 1 for npipes-style single-shot pipes, -1 for as many as the OS allows.</param>
internal readonly record struct ListenOptions(PipeAccess Access, PipeAccess TrustedServers, int BufferSize, int MaxInstances)
{
    /// <summary>Current user only both ways (<paramref name="currentUserOnly"/>), or everyone both ways.</summary>
    public ListenOptions(bool currentUserOnly, int bufferSize, int maxInstances)
        : this(currentUserOnly ? PipeAccess.CurrentUser : PipeAccess.Everyone, currentUserOnly ? PipeAccess.CurrentUser : PipeAccess.Everyone, bufferSize, maxInstances)
    {
    }
}
