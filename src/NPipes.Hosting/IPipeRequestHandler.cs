namespace NPipes.Hosting;

/// <summary>
/// Answers text requests on a hosted pipe server (<c>services.AddNPipesServer&lt;THandler&gt;(pipeName)</c>). Resolved
/// from a new dependency-injection scope per request, so it may depend on scoped services; inject <see cref="PipeCaller"/>
/// to know who sent the request.
/// </summary>
public interface IPipeRequestHandler
{
    /// <summary>Returns the reply to <paramref name="request"/>. Requests of one connection arrive one after another.</summary>
    /// <param name="request">The request, decoded in the server's text encoding.</param>
    /// <param name="cancellationToken">Fires when the host's shutdown (or the drain deadline) no longer lets the request finish.</param>
    ValueTask<string> HandleAsync(string request, CancellationToken cancellationToken);
}

/// <summary>
/// Serves whole connections on a hosted pipe server (<c>services.AddNPipesConnectionServer&lt;THandler&gt;(pipeName)</c>).
/// Resolved from a new dependency-injection scope per connection.
/// </summary>
public interface IPipeConnectionHandler
{
    /// <summary>Serves <paramref name="connection"/> until the client leaves; the connection is closed when this returns.</summary>
    /// <param name="connection">The client's connection (do not dispose it).</param>
    /// <param name="cancellationToken">Fires when the server begins to stop: stop waiting for the next message, finish the reply in progress.</param>
    Task HandleAsync(PipeConnection connection, CancellationToken cancellationToken);
}
