using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace NPipes;

/// <summary>
/// Typed messages: each message is one UTF-8 JSON document (System.Text.Json), serialized straight to bytes, whatever
/// the connection's text encoding. Prefer the <see cref="JsonTypeInfo{T}"/> overloads (from a source-generated
/// <c>JsonSerializerContext</c>): they are trimming- and AOT-safe. The others use reflection.
/// </summary>
/// <remarks>A string value sent with <c>SendAsync("text")</c> binds to the raw text overload of <see cref="PipeConnection"/>, not to JSON; pass a <see cref="JsonTypeInfo{T}"/> to send a JSON string.</remarks>
public static class PipeConnectionJsonExtensions
{
    private const string ReflectionWarning = "JSON (de)serialization of arbitrary types may need types that trimming removes; use the overload taking a JsonTypeInfo<T> from a source-generated JsonSerializerContext.";
    private const string DynamicWarning = "JSON (de)serialization by reflection may generate code at run time; use the overload taking a JsonTypeInfo<T> from a source-generated JsonSerializerContext.";

    /// <summary>Sends <paramref name="value"/> as one JSON message.</summary>
    /// <exception cref="FrameTooLargeException">The JSON exceeds the payload limit; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public static ValueTask SendAsync<T>(this PipeConnection connection, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(typeInfo);
        return connection.SendAsync(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), cancellationToken);
    }

    /// <summary>Sends <paramref name="value"/> as one JSON message, serialized by reflection.</summary>
    /// <exception cref="FrameTooLargeException">The JSON exceeds the payload limit; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicWarning)]
    public static ValueTask SendAsync<T>(this PipeConnection connection, T value, JsonSerializerOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.SendAsync(JsonSerializer.SerializeToUtf8Bytes(value, options), cancellationToken);
    }

    /// <summary>Sends <paramref name="value"/> as one JSON message, serialized by reflection with default options.</summary>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicWarning)]
    public static ValueTask SendAsync<T>(this PipeConnection connection, T value, CancellationToken cancellationToken = default) =>
        connection.SendAsync(value, (JsonSerializerOptions?)null, cancellationToken);

    /// <summary>Receives the next message as <typeparamref name="T"/> (null only if the JSON was <c>null</c>).</summary>
    /// <exception cref="JsonException">The message is not valid JSON for <typeparamref name="T"/>; the connection stays open (the frame itself was fine).</exception>
    /// <exception cref="ConnectionClosedException">The peer closed the connection cleanly before sending (<see cref="DisconnectReason.PeerClosed"/>), or it was closed.</exception>
    /// <exception cref="FrameException">The frame was invalid; the connection is closed.</exception>
    public static async ValueTask<T?> ReceiveAsync<T>(this PipeConnection connection, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(typeInfo);
        using PipeMessage message = await ReceiveOrThrowAsync(connection, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(message.Payload.Span, typeInfo);
    }

    /// <summary>Receives the next message as <typeparamref name="T"/>, deserialized by reflection.</summary>
    /// <exception cref="JsonException">The message is not valid JSON for <typeparamref name="T"/>; the connection stays open.</exception>
    /// <exception cref="ConnectionClosedException">The peer closed the connection cleanly before sending, or it was closed.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicWarning)]
    public static async ValueTask<T?> ReceiveAsync<T>(this PipeConnection connection, JsonSerializerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using PipeMessage message = await ReceiveOrThrowAsync(connection, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize<T>(message.Payload.Span, options);
    }

    /// <summary>Receives the next message as <typeparamref name="T"/>, deserialized by reflection with default options.</summary>
    /// <exception cref="ConnectionClosedException">The peer closed the connection cleanly before sending, or it was closed.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicWarning)]
    public static ValueTask<T?> ReceiveAsync<T>(this PipeConnection connection, CancellationToken cancellationToken) =>
        connection.ReceiveAsync<T>((JsonSerializerOptions?)null, cancellationToken);

    /// <summary>
    /// JSON request/response with the ordering, cancellation and timeout rules of
    /// <see cref="PipeConnection.RequestAsync(ReadOnlyMemory{byte}, CancellationToken)"/> (a request cancelled after being
    /// written closes the connection).
    /// </summary>
    /// <exception cref="JsonException">The reply is not valid JSON for <typeparamref name="TReply"/>; the connection stays open.</exception>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    public static async ValueTask<TReply?> RequestAsync<TRequest, TReply>(this PipeConnection connection, TRequest request,
        JsonTypeInfo<TRequest> requestTypeInfo, JsonTypeInfo<TReply> replyTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(requestTypeInfo);
        ArgumentNullException.ThrowIfNull(replyTypeInfo);
        using PipeMessage reply = await connection.RequestAsync(JsonSerializer.SerializeToUtf8Bytes(request, requestTypeInfo), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(reply.Payload.Span, replyTypeInfo);
    }

    /// <summary>JSON request/response by reflection; see the <see cref="JsonTypeInfo{T}"/> overload.</summary>
    /// <exception cref="JsonException">The reply is not valid JSON for <typeparamref name="TReply"/>; the connection stays open.</exception>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicWarning)]
    public static async ValueTask<TReply?> RequestAsync<TRequest, TReply>(this PipeConnection connection, TRequest request,
        JsonSerializerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using PipeMessage reply = await connection.RequestAsync(JsonSerializer.SerializeToUtf8Bytes(request, options), cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize<TReply>(reply.Payload.Span, options);
    }

    /// <summary>JSON request/response by reflection with default options.</summary>
    /// <exception cref="ConnectionClosedException">The connection closed before the reply arrived.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicWarning)]
    public static ValueTask<TReply?> RequestAsync<TRequest, TReply>(this PipeConnection connection, TRequest request, CancellationToken cancellationToken) =>
        connection.RequestAsync<TRequest, TReply>(request, (JsonSerializerOptions?)null, cancellationToken);

    private static async ValueTask<PipeMessage> ReceiveOrThrowAsync(PipeConnection connection, CancellationToken cancellationToken) =>
        await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false)
        ?? throw new ConnectionClosedException(DisconnectReason.PeerClosed);
}
