using System.Buffers;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;
using StreamJsonRpc.Reflection;

namespace NPipes;

/// <summary>
/// A StreamJsonRpc message handler that carries exactly one JSON-RPC message per npipes frame on a
/// <see cref="PipeConnection"/>: the frame's payload is the serialized message (UTF-8 JSON with the default
/// <see cref="SystemTextJsonFormatter"/>), framed, CRC-checked and size-limited by the connection's
/// <see cref="NPipesOptions.Frame"/>. The protocol is described in docs/rpc.md.
/// </summary>
/// <remarks>
/// <para>Framing only: the handler never looks inside a message; any <see cref="IJsonRpcMessageFormatter"/> works (a
/// peer in another language expects the JSON one).</para>
/// <para>Errors: a frame error while reading (<see cref="CrcMismatchException"/>, <see cref="FrameTooLargeException"/>,
/// <see cref="FrameLengthMismatchException"/>, <see cref="IncompleteFrameException"/>) or a broken connection
/// (<see cref="ConnectionClosedException"/>) is thrown from <see cref="MessageHandlerBase.ReadAsync"/>: the connection is
/// already closed, <see cref="JsonRpc"/> disconnects, every pending call fails with <see cref="ConnectionLostException"/>,
/// and <see cref="JsonRpc.Completion"/> faults with that exception. A send on a closed connection fails with
/// <see cref="ConnectionLostException"/> too (its inner <see cref="ConnectionClosedException"/> says why; a request the
/// peer cut off while it was sent names the likely cause, as a server refuses a frame over its limit). A message too
/// large to send fails that send with <see cref="FrameTooLargeException"/>; nothing is written and the connection stays
/// usable.</para>
/// </remarks>
public sealed class NPipesMessageHandler : MessageHandlerBase, IJsonRpcMessageBufferManager
{
    /// <summary>A buffer grown past this by one large message is dropped afterwards rather than kept for the connection's lifetime.</summary>
    private const int RetainedBufferLimit = 1024 * 1024;

    private readonly bool _leaveOpen;
    private readonly CancellationTokenSource _stopReading = new();
    private ArrayBufferWriter<byte> _inbound = new();
    private ArrayBufferWriter<byte> _outbound = new();
    private IJsonRpcMessageBufferManager? _reserved; // the message that still reads from _inbound
    private CancellationTokenSource? _linked; // the caller's read token joined with _stopReading; JsonRpc passes the same token to every read
    private CancellationToken _linkedFor;
    private NPipesJsonRpcOptions _options = NPipesJsonRpcOptions.Default;
    private InboundRequests? _inboundRequests;
    private int _peerIsCurrentUser; // 0 not asked yet, 1 yes, -1 no
    private ReaderThread? _readerThread; // set when reads wait on a thread of their own (see ReaderThread)

    /// <summary>Creates a handler over <paramref name="connection"/>.</summary>
    /// <param name="connection">The connection; this handler must be its only reader.</param>
    /// <param name="formatter">The message formatter; default <see cref="JsonRpcConventions.CreateFormatter"/> (UTF-8 JSON with the wire conventions of docs/rpc.md).</param>
    /// <param name="leaveOpen">False (default): disposing the handler (which <see cref="JsonRpc"/> does when it disconnects) disposes the connection.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    public NPipesMessageHandler(PipeConnection connection, IJsonRpcMessageFormatter? formatter = null, bool leaveOpen = false)
        : base(formatter ?? JsonRpcConventions.CreateFormatter())
    {
        ArgumentNullException.ThrowIfNull(connection);
        Connection = connection;
        _leaveOpen = leaveOpen;
        if (!leaveOpen)
        {
            ReadOnOwnThread();
        }
        // A read waiting for the next frame must end when the handler is disposed, or disposal would wait for the peer.
        DisposalToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), _stopReading);
    }

    /// <summary>The connection the messages travel on.</summary>
    public PipeConnection Connection { get; }

    /// <summary>
    /// The bounds on the peer's requests this handler reads (backpressure) and what error replies reveal; default
    /// <see cref="NPipesJsonRpcOptions.Default"/>. Set it when creating the handler, before the first read.
    /// </summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public NPipesJsonRpcOptions Options
    {
        get => _options;
        init => _options = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The peer's requests read and not yet answered; created on first use, with <see cref="Options"/>.</summary>
    private InboundRequests Inbound => LazyInitializer.EnsureInitialized(ref _inboundRequests, () => new InboundRequests(_options));

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <summary>
    /// Server side of a graceful stop: from now on, once every request read so far has had its response written, the
    /// handler reports the end of the stream (so <see cref="JsonRpc"/> disconnects cleanly). A request that arrives after
    /// that point is never dispatched.     /// </summary>
    internal void StopWhenIdle() => Inbound.Drain(_stopReading);

    /// <summary>The peer's requests read and not yet answered (tests watch the backpressure with it).</summary>
    internal int PendingRequests => Inbound.Count;

    /// <summary>
    /// Reads on a thread of this handler's own (<see cref="ReaderThread"/>). Only for a connection that is closed when
    /// the <see cref="JsonRpc"/> ends: the handler's own, or one a server closes after serving it. Call before the first read.
    /// </summary>
    internal void ReadOnOwnThread()
    {
        // Not on Windows: there a blocking pipe read is not known to end when another thread closes the connection,
        // which ReaderThread relies on.
        if (!OperatingSystem.IsWindows())
        {
            _readerThread ??= new ReaderThread(Connection);
        }
    }

    /// <inheritdoc/>
    void IJsonRpcMessageBufferManager.DeserializationComplete(JsonRpcMessage message)
    {
        if (_reserved is { } reserved && ReferenceEquals(reserved, message))
        {
            reserved.DeserializationComplete(message);
            _reserved = null;
        }
    }

    /// <inheritdoc/>
    protected override async ValueTask<JsonRpcMessage?> ReadCoreAsync(CancellationToken cancellationToken)
    {
        InboundRequests inbound = Inbound;
        try
        {
            // Backpressure: at the bounds, read nothing more until a response has been written (the peer's sends wait).
            await inbound.WaitForRoomAsync(ReadToken(cancellationToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (inbound.Stopped && !cancellationToken.IsCancellationRequested)
        {
            return null; // a graceful stop: nothing outstanding
        }
        if (_reserved is not null)
        {
            // The last message still reads from the buffer (no DeserializationComplete yet): leave it that buffer.
            _inbound = new ArrayBufferWriter<byte>();
            _reserved = null;
        }
        else if (_inbound.Capacity > RetainedBufferLimit)
        {
            _inbound = new ArrayBufferWriter<byte>();
        }
        _inbound.ResetWrittenCount();
        int length;
        try
        {
            length = _readerThread is { } thread
                ? await thread.ReceiveAsync(_inbound, ReadToken(cancellationToken)).ConfigureAwait(false)
                : await Connection.ReceiveIntoAsync(_inbound, ReadToken(cancellationToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (inbound.Stopped && !cancellationToken.IsCancellationRequested)
        {
            return null; // a graceful stop: nothing outstanding, so end here as if the peer had closed
        }
        if (length < 0)
        {
            return null; // the peer closed cleanly between frames
        }
        JsonRpcMessage message = Formatter.Deserialize(new ReadOnlySequence<byte>(_inbound.WrittenMemory));
        if (message is JsonRpcRequest { IsResponseExpected: true } request && !inbound.TryAdd(request.RequestId, length))
        {
            return null; // stopping and idle: this request is not dispatched (its caller sees the connection lost)
        }
        _reserved = message as IJsonRpcMessageBufferManager;
        return message;
    }

    /// <summary>A token that fires with <paramref name="cancellationToken"/> or when reading must stop; the join is made once per caller token, not per read.</summary>
    private CancellationToken ReadToken(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return _stopReading.Token;
        }
        if (_linked is null || _linkedFor != cancellationToken)
        {
            _linked?.Dispose();
            _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopReading.Token);
            _linkedFor = cancellationToken;
        }
        return _linked.Token;
    }

    /// <inheritdoc/>
    protected override async ValueTask WriteCoreAsync(JsonRpcMessage content, CancellationToken cancellationToken)
    {
        if (content is JsonRpcError { Error: { } error } && error.Data is CommonErrorData or Exception && !StackTracesAllowed())
        {
            error.Data = ErrorDetails.WithoutStackTraces(error.Data);
        }
        try
        {
            _outbound.ResetWrittenCount();
            Formatter.Serialize(_outbound, content);
            if (Formatter is IJsonRpcFormatterTracingCallbacks tracer)
            {
                tracer.OnSerializationComplete(content, new ReadOnlySequence<byte>(_outbound.WrittenMemory));
            }
            // Completes once the frame is queued in order (Unix; the queue is bounded) or written (Windows); large
            // payloads are written in place before it completes, so the buffer can be reused by the next message.
            await Connection.SendAsync(_outbound.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }
        catch (ConnectionClosedException e) when (content is JsonRpcRequest && e.Reason is DisconnectReason.IOError or DisconnectReason.PeerClosed && e.InnerException is { } written)
        {
            // The peer closed while the request went out: a server refuses a frame over its limit from the header.
            throw new ConnectionLostException(MismatchHint.CutWhileSending(written.Message.TrimEnd('.')), e);
        }
        catch (ConnectionClosedException e)
        {
            throw Lost(e);
        }
        finally
        {
            if (content is IJsonRpcMessageWithId { } answer and (JsonRpcResult or JsonRpcError))
            {
                // Written (or failed for good): its request no longer holds room, so reading may go on.
                Inbound.Answered(answer.RequestId, _stopReading);
            }
        }
        if (_outbound.Capacity > RetainedBufferLimit)
        {
            _outbound = new ArrayBufferWriter<byte>();
        }
    }

    /// <summary>Whether error replies may carry stack traces to this peer: opted in, and the peer is known to be this OS user.</summary>
    private bool StackTracesAllowed()
    {
        if (!_options.IncludeStackTraces)
        {
            return false;
        }
        if (_peerIsCurrentUser == 0)
        {
            _peerIsCurrentUser = Connection.PeerIsCurrentUser ? 1 : -1;
        }
        return _peerIsCurrentUser > 0;
    }

    /// <summary>
    /// Waits until the frames sent so far have been handed to the operating system (a send on Unix only queues its
    /// frame; a frame after a quiet spell is written at once, others by a background flush on the thread pool). This
    /// is <see cref="MessageHandlerBase.WriteAsync"/>'s contract, reports a failed write to the call that made it, and
    /// measured no slower than leaving frames to the background flush (less CPU per call in a ping-pong).
    /// </summary>
    protected override async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Connection.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ConnectionClosedException e) when (e.Reason == DisconnectReason.PeerClosed)
        {
            // The send succeeded and the peer has closed since (perhaps because of this very message): as with a write
            // into a socket's buffer, the message may or may not have been read. The read side reports the close.
        }
        catch (ConnectionClosedException e)
        {
            throw Lost(e);
        }
    }

    /// <summary>A send on a closed connection fails as a pending call does when the connection goes: with StreamJsonRpc's type.</summary>
    private static ConnectionLostException Lost(ConnectionClosedException e) => new($"The pipe connection is closed ({e.Reason}).", e);

    /// <inheritdoc/>
    protected override void DisposeReader()
    {
        _linked?.Dispose(); // called once the last read has completed
        base.DisposeReader();
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _readerThread?.Stop();
            // _stopReading is not disposed: a graceful stop may still cancel it, and it holds no timer or link.
            if (!_leaveOpen)
            {
                Connection.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
