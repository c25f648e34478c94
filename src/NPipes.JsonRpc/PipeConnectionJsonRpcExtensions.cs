using StreamJsonRpc;

namespace NPipes;

/// <summary>JSON-RPC (StreamJsonRpc) on an NPipes <see cref="PipeConnection"/> or <see cref="PipeClient"/>: one JSON-RPC message per frame (docs/rpc.md).</summary>
public static class PipeConnectionJsonRpcExtensions
{
    /// <summary>
    /// Creates a <see cref="JsonRpc"/> over <paramref name="connection"/>, not yet listening: add targets, set options,
    /// then call <see cref="JsonRpc.StartListening"/>. The <see cref="JsonRpc"/> becomes the connection's only reader.
    /// </summary>
    /// <param name="connection">The connection.</param>
    /// <param name="formatter">The message formatter; default <see cref="JsonRpcConventions.CreateFormatter"/> (UTF-8 JSON, docs/rpc.md §8).</param>
    /// <param name="leaveOpen">False (default): when the <see cref="JsonRpc"/> is disposed or disconnects, the connection is disposed too.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    public static JsonRpc CreateJsonRpc(this PipeConnection connection, IJsonRpcMessageFormatter? formatter = null, bool leaveOpen = false) =>
        new(new NPipesMessageHandler(connection, formatter, leaveOpen));

    /// <summary>
    /// Creates a <see cref="JsonRpc"/> over <paramref name="connection"/> as <see cref="CreateJsonRpc(PipeConnection, IJsonRpcMessageFormatter?, bool)"/>
    /// does (default formatter; disposing it disposes the connection), with the bounds on the peer's pending requests and
    /// the error-reply policy of <paramref name="options"/>. Add targets, then call <see cref="JsonRpc.StartListening"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> or <paramref name="options"/> is null.</exception>
    public static JsonRpc CreateJsonRpc(this PipeConnection connection, NPipesJsonRpcOptions options) =>
        new(new NPipesMessageHandler(connection) { Options = options });

    /// <summary>
    /// Starts JSON-RPC on <paramref name="connection"/>: calls can be made at once, and <paramref name="target"/> (if
    /// any) serves the peer's calls, and <c>rpc.discover</c> with its OpenRPC document (docs/rpc.md §8.2). Disposing the
    /// returned <see cref="JsonRpc"/> disposes the connection.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    public static JsonRpc AttachJsonRpc(this PipeConnection connection, object? target = null)
    {
        JsonRpc rpc = connection.CreateJsonRpc();
        if (target is not null)
        {
            PipeServerJsonRpcExtensions.AddTarget(rpc, target);
        }
        rpc.StartListening();
        return rpc;
    }

    /// <summary>
    /// Starts JSON-RPC on <paramref name="connection"/> and returns a typed proxy for the peer's <typeparamref name="T"/>
    /// (<see cref="JsonRpc.Attach{T}(IJsonRpcMessageHandler)"/>). Dispose the proxy (it is <see cref="IDisposable"/>) to close the connection.
    /// </summary>
    /// <typeparam name="T">An interface whose methods return <see cref="Task"/>, <see cref="Task{TResult}"/> or <see cref="ValueTask"/>.</typeparam>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    public static T AttachJsonRpc<T>(this PipeConnection connection)
        where T : class => JsonRpc.Attach<T>(new NPipesMessageHandler(connection));

    /// <summary>
    /// Connects <paramref name="client"/> (or waits for its reconnection in progress) and starts JSON-RPC on its current
    /// connection. The connection stays the client's: disposing the <see cref="JsonRpc"/> leaves it open, and a
    /// <see cref="JsonRpc"/> lives as long as that one connection. When it disconnects because the connection was lost,
    /// the client is told (so it reconnects, if <see cref="PipeClientOptions.AutoReconnect"/>); call this again for a
    /// <see cref="JsonRpc"/> on the new connection. Calls in flight on a lost connection are never re-sent. While a
    /// <see cref="JsonRpc"/> runs on the client, use the client only through it (it is the connection's reader).
    /// </summary>
    /// <exception cref="TimeoutException">No server accepted within the client's timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public static async Task<JsonRpc> AttachJsonRpcAsync(this PipeClient client, object? target = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        PipeConnection connection = client.Connection ?? throw new ConnectionClosedException(DisconnectReason.PeerClosed);
        JsonRpc rpc = connection.CreateJsonRpc(leaveOpen: true);
        if (target is not null)
        {
            PipeServerJsonRpcExtensions.AddTarget(rpc, target);
        }
        rpc.Disconnected += (_, _) =>
        {
            if (!connection.IsConnected && ReferenceEquals(client.Connection, connection))
            {
                // The client learns of a loss only through an operation; on a closed connection a receive fails at
                // once, without I/O, and synchronously, so the client has dropped it (and started reconnecting)
                // before the pending calls fail and their callers can ask for a new JsonRpc.
                _ = NoticeLossAsync(client);
            }
        };
        rpc.StartListening();
        return rpc;
    }

    private static async Task NoticeLossAsync(PipeClient client)
    {
        try
        {
            using PipeMessage? _ = await client.ReceiveAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NPipesException or ObjectDisposedException or InvalidOperationException)
        {
            // Expected: that receive exists only to report the loss to the client.
        }
    }
}
