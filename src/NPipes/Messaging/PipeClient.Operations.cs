namespace NPipes;

// Operations on the current connection. Each one that finds the connection lost hands it to Lost (which starts the
// reconnection, if enabled) and rethrows; nothing is ever re-sent.
public sealed partial class PipeClient
{
    /// <summary>Sends one binary message on the current connection. See the class remarks for what completion means.</summary>
    /// <exception cref="ConnectionClosedException">The connection was lost; the message was not delivered (reconnection starts if enabled).</exception>
    /// <exception cref="FrameTooLargeException">The payload exceeds the limit; nothing was sent.</exception>
    /// <exception cref="InvalidOperationException">Never connected: call <see cref="ConnectAsync"/> first.</exception>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        PipeConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.SendAsync(payload, cancellationToken).ConfigureAwait(false);
        }
        catch when (!connection.IsConnected)
        {
            Lost(connection);
            throw;
        }
    }

    /// <summary>Sends one text message on the current connection.</summary>
    /// <exception cref="ConnectionClosedException">The connection was lost; the message was not delivered.</exception>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    public async ValueTask SendAsync(string text, CancellationToken cancellationToken = default)
    {
        PipeConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.SendAsync(text, cancellationToken).ConfigureAwait(false);
        }
        catch when (!connection.IsConnected)
        {
            Lost(connection);
            throw;
        }
    }

    /// <summary>
    /// Receives the next message on the current connection; null when that connection ended cleanly (with automatic
    /// reconnection on, the next call uses the new connection).
    /// </summary>
    /// <exception cref="ConnectionClosedException">The connection was lost.</exception>
    /// <exception cref="FrameException">The peer sent an invalid frame; the connection is closed.</exception>
    public async ValueTask<PipeMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        PipeConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            PipeMessage? message = await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (message is null)
            {
                Lost(connection);
            }
            return message;
        }
        catch when (!connection.IsConnected)
        {
            Lost(connection);
            throw;
        }
    }

    /// <summary>Request/response on the current connection; see <see cref="PipeConnection.RequestAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.
    /// A request that fails is never re-sent.</summary>
    /// <exception cref="ConnectionClosedException">The connection was lost; the request may or may not have been processed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if the request had been written the connection is closed (and reconnection starts).</exception>
    public async ValueTask<PipeMessage> RequestAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken = default)
    {
        PipeConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await connection.RequestAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch when (!connection.IsConnected)
        {
            Lost(connection);
            throw;
        }
    }

    /// <summary>Text request/response on the current connection. A request that fails is never re-sent.</summary>
    /// <exception cref="ConnectionClosedException">The connection was lost; the request may or may not have been processed.</exception>
    public async ValueTask<string> RequestAsync(string request, CancellationToken cancellationToken = default)
    {
        PipeConnection connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await connection.RequestAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch when (!connection.IsConnected)
        {
            Lost(connection);
            throw;
        }
    }
}
