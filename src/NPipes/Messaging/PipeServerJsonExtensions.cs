using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace NPipes;

/// <summary>Typed request/response serving over System.Text.Json (source-generated metadata, so trimming- and AOT-safe).</summary>
public static class PipeServerJsonExtensions
{
    /// <summary>
    /// Serves JSON requests: each message is deserialized as <typeparamref name="TRequest"/>, passed to
    /// <paramref name="handler"/>, and its result sent back as JSON; the rules are those of
    /// <see cref="PipeServer.ServeRequestsAsync(Func{PipeMessage, CancellationToken, ValueTask{ReadOnlyMemory{byte}}}, CancellationToken)"/>.
    /// A request that is not valid JSON for <typeparamref name="TRequest"/> is reported through <see cref="PipeServer.Error"/>
    /// (as a <see cref="JsonException"/>) and closes its connection, since the client would otherwise wait for a reply.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is already running.</exception>
    public static Task ServeRequestsAsync<TRequest, TReply>(this PipeServer server, Func<TRequest?, CancellationToken, ValueTask<TReply>> handler,
        JsonTypeInfo<TRequest> requestTypeInfo, JsonTypeInfo<TReply> replyTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(requestTypeInfo);
        ArgumentNullException.ThrowIfNull(replyTypeInfo);
        return server.ServeRequestsAsync(async (PipeMessage message, CancellationToken token) =>
        {
            TRequest? request = JsonSerializer.Deserialize(message.Payload.Span, requestTypeInfo);
            TReply reply = await handler(request, token).ConfigureAwait(false);
            return (ReadOnlyMemory<byte>)JsonSerializer.SerializeToUtf8Bytes(reply, replyTypeInfo);
        }, cancellationToken);
    }
}
