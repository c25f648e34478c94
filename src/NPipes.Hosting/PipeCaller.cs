namespace NPipes.Hosting;

/// <summary>
/// Who sent the request being handled (docs/access.md §5), for an <see cref="IPipeRequestHandler"/>: inject it (it is
/// scoped, and each request has its own scope) and read <see cref="Peer"/> to decide per request. A connection handler
/// reads <see cref="PipeConnection.Peer"/> instead.
/// </summary>
public sealed class PipeCaller
{
    /// <summary>The client of the request in this scope; <see cref="PeerIdentity.Unknown"/> outside a request.</summary>
    public PeerIdentity Peer { get; internal set; } = PeerIdentity.Unknown;
}
