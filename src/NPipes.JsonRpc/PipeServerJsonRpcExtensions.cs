using StreamJsonRpc;

namespace NPipes;

// RS0027 asks that an overload with optional parameters have the most parameters: the overload taking
// NPipesJsonRpcOptions has as many (and no optional one), so callers of the shipped overloads bind as before.
#pragma warning disable RS0027

/// <summary>Serves JSON-RPC (StreamJsonRpc) from a <see cref="PipeServer"/>: one <see cref="JsonRpc"/> per connection, one message per frame (docs/rpc.md).</summary>
public static class PipeServerJsonRpcExtensions
{
    /// <summary>
    /// Accepts clients and serves each with its own <see cref="JsonRpc"/> whose target is <paramref name="createTarget"/>'s
    /// result for that connection; see <see cref="ServeJsonRpcAsync(PipeServer, Action{JsonRpc, PipeConnection}, Func{IJsonRpcMessageFormatter}, CancellationToken)"/>.
    /// The connections also answer <c>rpc.discover</c> with the target type's OpenRPC document (docs/rpc.md §8.2).
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public static Task ServeJsonRpcAsync(this PipeServer server, Func<PipeConnection, object> createTarget, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(createTarget);
        return server.ServeJsonRpcAsync((rpc, connection) => AddTarget(rpc, createTarget(connection)), cancellationToken);
    }

    /// <summary>
    /// Accepts clients and serves each with its own <see cref="JsonRpc"/>, which <paramref name="configure"/> sets up;
    /// messages use <see cref="JsonRpcConventions.CreateFormatter"/>. See
    /// <see cref="ServeJsonRpcAsync(PipeServer, Action{JsonRpc, PipeConnection}, Func{IJsonRpcMessageFormatter}, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public static Task ServeJsonRpcAsync(this PipeServer server, Action<JsonRpc, PipeConnection> configure, CancellationToken cancellationToken = default) =>
        server.ServeJsonRpcAsync(configure, JsonRpcConventions.CreateFormatter, cancellationToken);

    /// <summary>
    /// Accepts clients and serves each with its own <see cref="JsonRpc"/>, which <paramref name="configure"/> sets up
    /// (targets, options) before it starts listening. Runs until the server stops, as <see cref="PipeServer.RunAsync"/> does.
    /// </summary>
    /// <remarks>
    /// <para>Each connection reads at most <see cref="NPipesJsonRpcOptions.MaxPendingRequests"/> requests (and
    /// <see cref="NPipesJsonRpcOptions.MaxPendingRequestBytes"/>) ahead of their responses being written; then it pauses
    /// reading until one is (backpressure: a client that floods calls, or never reads its replies, costs a bounded
    /// amount). Error replies carry no stack traces unless <see cref="NPipesJsonRpcOptions.IncludeStackTraces"/>.</para>
    /// <para>The server's options apply to every connection: frame format and limits (<see cref="PipeServerOptions.Connection"/>),
    /// <see cref="PipeServerOptions.MaxConnections"/>, and the idle, write and frame timeouts (the idle timeout counts the
    /// client's silence, also while one of its calls runs long). A connection that ends with an error (a frame error, a
    /// message that is not JSON-RPC, a timeout) is reported through <see cref="PipeServer.Error"/>; a clean close is not.</para>
    /// <para>Stopping: each connection stops reading once every request it has read has been answered (so no dispatched
    /// call loses its response), then closes; a request arriving after that is not dispatched (its caller sees the
    /// connection lost). Calls still running at the drain deadline have their connection closed.</para>
    /// </remarks>
    /// <param name="server">The server.</param>
    /// <param name="configure">Sets up each connection's <see cref="JsonRpc"/>, e.g. <c>rpc.AddLocalRpcTarget(...)</c>.</param>
    /// <param name="createFormatter">Makes each connection's formatter (docs/rpc.md's peers expect <see cref="SystemTextJsonFormatter"/>'s UTF-8 JSON).</param>
    /// <param name="cancellationToken">Stops the server (with its drain timeout) when it fires.</param>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public static Task ServeJsonRpcAsync(this PipeServer server, Action<JsonRpc, PipeConnection> configure, Func<IJsonRpcMessageFormatter> createFormatter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(createFormatter);
        return Serve(server, configure, createFormatter, NPipesJsonRpcOptions.Default, cancellationToken);
    }

    /// <summary>Adds <paramref name="target"/> and answers <c>rpc.discover</c> with its document (docs/rpc.md §8.2).</summary>
    internal static void AddTarget(JsonRpc rpc, object target)
    {
        rpc.AddLocalRpcTarget(target);
        rpc.AddRpcDiscover(target.GetType());
    }

    /// <summary>
    /// As <see cref="ServeJsonRpcAsync(PipeServer, Action{JsonRpc, PipeConnection}, Func{IJsonRpcMessageFormatter}, CancellationToken)"/>
    /// with the default formatter, and with the bounds on each client's pending requests and the error-reply policy of <paramref name="options"/>
    /// (the other overloads use <see cref="NPipesJsonRpcOptions.Default"/>).
    /// </summary>
    /// <param name="server">The server.</param>
    /// <param name="configure">Sets up each connection's <see cref="JsonRpc"/>, e.g. <c>rpc.AddLocalRpcTarget(...)</c>.</param>
    /// <param name="options">Each connection's request bounds (backpressure) and whether error replies may carry stack traces.</param>
    /// <param name="cancellationToken">Stops the server (with its drain timeout) when it fires.</param>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public static Task ServeJsonRpcAsync(this PipeServer server, Action<JsonRpc, PipeConnection> configure, NPipesJsonRpcOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Serve(server, configure, JsonRpcConventions.CreateFormatter, options, cancellationToken);
    }

    private static Task Serve(PipeServer server, Action<JsonRpc, PipeConnection> configure, Func<IJsonRpcMessageFormatter> createFormatter, NPipesJsonRpcOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(configure);
        return server.RunAsync((connection, stopping) => ServeConnectionAsync(connection, configure, createFormatter, options, stopping), cancellationToken);
    }

    private static async Task ServeConnectionAsync(PipeConnection connection, Action<JsonRpc, PipeConnection> configure, Func<IJsonRpcMessageFormatter> createFormatter, NPipesJsonRpcOptions options, CancellationToken stopping)
    {
        // The server owns the connection: it closes it (writing out queued responses) when this returns.
        var handler = new NPipesMessageHandler(connection, createFormatter(), leaveOpen: true) { Options = options };
        handler.ReadOnOwnThread(); // the connection is closed when this returns, which ends the reader's last receive
        using var rpc = new JsonRpc(handler);
        configure(rpc, connection);
        rpc.StartListening();
        using CancellationTokenRegistration stop = stopping.Register(static h => ((NPipesMessageHandler)h!).StopWhenIdle(), handler);
        try
        {
            await rpc.Completion.ConfigureAwait(false);
        }
        catch (Exception) when (connection.DisconnectReason is DisconnectReason.LocalClose or DisconnectReason.PeerClosed)
        {
            // Closed by the server's own stop, or cleanly by the client: not an error.
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
