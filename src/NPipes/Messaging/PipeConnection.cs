using NPipes.Diagnostics;
using NPipes.Messaging;
using NPipes.Messaging.Writing;
using NPipes.Transport;

namespace NPipes;

/// <summary>
/// A persistent, duplex connection carrying npipes frames both ways. One reader at a time; any number of writers,
/// serialised, each frame written whole. Errors are typed; after a frame error or an interruption mid-frame the
/// connection closes itself (the stream has lost frame sync) and <see cref="DisconnectReason"/> says why.
/// </summary>
/// <remarks>
/// <para>Delivery contract of sends. On Unix (a byte stream) a send encodes its frame into the connection's send queue
/// and completes once the frame is queued, in order; queued frames are written in few large writes (by a background
/// flush, or at once by a request, a receive, <see cref="FlushAsync"/> or disposal). A completed
/// <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/> therefore means "queued in order on this connection",
/// not "written": a later write failure is reported by the next call on the connection (as
/// <see cref="ConnectionClosedException"/> whose inner exception is the cause) and by <see cref="DisconnectReason"/>
/// (<see cref="NPipes.DisconnectReason.IOError"/>). A send waits only while 256 KiB are queued (backpressure). Payloads
/// of 32 KiB or more are not copied: the send returns once the frame has been written. Dispose writes what is queued
/// first. On Windows (message pipes) every frame is one write (one pipe message, as npipes reads) and a send completes
/// when it is written.</para>
/// <para>With <see cref="NPipesOptions.SharedMemory"/> on (Windows; Linux in the net10.0 build), a payload at or above its
/// threshold travels through shared memory (docs/shared-memory.md): in a slot of the connection's ring (§8), or, larger
/// than the ring, in a sealed file of its own on Linux and inline on Windows (§9). The send completes once its descriptor frame is written, after waiting, if the peer has left too
/// much unread, for room in the ring or the in-flight budget; the received <see cref="PipeMessage"/> holds a private copy
/// of a ring slot (in a pooled buffer), or is a read-only view of a sealed file until disposed.
/// <see cref="CreateMessage"/> hands out the slot's (or file's) memory to write in place.</para>
/// </remarks>
public sealed partial class PipeConnection : IAsyncDisposable, IDisposable
{
    private readonly Stream _stream;
    private readonly ITransportStream? _transport;
    private readonly FrameReader _reader;
    private readonly IFrameWriter _writer;
    private readonly IQueuedFrameWriter? _queue; // the writer, when it queues (byte streams); null for message pipes
    private int _reading;
    private int _reason;

    /// <summary>A connection over a stream from the transport (its capabilities are the stream's own).</summary>
    internal PipeConnection(Stream stream, string pipeName, NPipesOptions options, PipeTelemetry? telemetry = null)
        : this(stream, stream as ITransportStream, pipeName, options, telemetry)
    {
    }

    /// <summary>
    /// A connection that reads and writes through <paramref name="stream"/> (the transport stream, or a server's watching
    /// wrapper around it) and asks <paramref name="transport"/> what the pipe can do. Without a transport it is a plain
    /// byte stream. It reports through <paramref name="telemetry"/> (its server's or client's), else through the options' own.
    /// </summary>
    internal PipeConnection(Stream stream, ITransportStream? transport, string pipeName, NPipesOptions options, PipeTelemetry? telemetry = null)
    {
        _shm = SharedMemoryOf(transport, options, stream);
        // The peer's credentials come from the transport stream itself, not from a server's watching wrapper.
        Telemetry = (telemetry ?? PipeTelemetry.For(pipeName, options)).Open(transport as Stream ?? stream);
        _stream = stream;
        _transport = transport;
        PipeName = pipeName;
        Options = options;
        _reader = new FrameReader(stream, transport?.DirectReceive, _shm);
        if (transport is { IsMessageMode: true })
        {
            // One write per frame: one message per frame.
            _writer = new FrameWriter(stream, _shm is null ? null : (_shm, options.SharedMemory!), e => Close(e is SharedMemoryException ? DisconnectReason.ProtocolError : DisconnectReason.IOError));
        }
        else
        {
            var queue = new CoalescingFrameWriter(stream, transport?.DirectSend, _ => Close(DisconnectReason.IOError), _shm is null ? null : (_shm, options.SharedMemory!));
            _writer = queue;
            _queue = queue;
        }
    }

    /// <summary>Connects to the server on <paramref name="pipeName"/>, waiting up to <see cref="NPipesOptions.Timeout"/> for one to appear.</summary>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    /// <exception cref="TimeoutException">No server accepted within the timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the message names the pipe and the wait).</exception>
    /// <exception cref="UnauthorizedAccessException">The server runs as a user <see cref="NPipesOptions.TrustedServers"/>
    /// does not admit (checked before a byte is written or read), or the server's access list refuses this user.</exception>
    public static async Task<PipeConnection> ConnectAsync(string pipeName, NPipesOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= NPipesOptions.Default;
        return await ConnectCoreAsync(pipeName, options, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Connects, reporting through <paramref name="telemetry"/> (a client's) instead of the options' own.</summary>
    internal static async Task<PipeConnection> ConnectCoreAsync(string pipeName, NPipesOptions options, PipeTelemetry? telemetry, CancellationToken cancellationToken)
    {
        ValueTask<Stream> connecting = PipeConnector.ConnectAsync(pipeName, options.TrustedServers, options.Timeout, cancellationToken);
        if (!connecting.IsCompleted)
        {
            // No server took the first attempt: say so once, as the CLIs do on a terminal.
            telemetry ??= PipeTelemetry.For(pipeName, options);
            telemetry.WaitingForServer();
        }
        Stream stream = await connecting.ConfigureAwait(false);
        return new PipeConnection(stream, pipeName, options, telemetry);
    }

    /// <summary>
    /// Synchronous twin of <see cref="ConnectAsync"/>: the same operation, blocking the calling thread until it completes;
    /// no cancellation token, bounded by <see cref="NPipesOptions.Timeout"/>. Connecting has no blocking form, so this
    /// waits for the asynchronous connect.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    /// <exception cref="TimeoutException">No server accepted within the timeout.</exception>
    /// <exception cref="UnauthorizedAccessException">The server runs as a user <see cref="NPipesOptions.TrustedServers"/> does not admit.</exception>
    public static PipeConnection Connect(string pipeName, NPipesOptions? options = null) =>
        SyncTwin.Wait(ConnectAsync(pipeName, options, CancellationToken.None));

    /// <summary>The pipe name this connection is on.</summary>
    public string PipeName { get; }

    /// <summary>The options in force: frame format, access, timeout.</summary>
    public NPipesOptions Options { get; }

    /// <summary>
    /// Who is at the other end (on a server, the client; on a client, the server): process id, user id or SID, groups,
    /// and the user name looked up on first read. Read from the OS once, when the connection was made, and already
    /// checked against <see cref="NPipesOptions.Access"/> / <see cref="NPipesOptions.TrustedServers"/>.
    /// <see cref="PeerIdentity.Unknown"/> for a connection over a stream that is not a pipe.
    /// </summary>
    public PeerIdentity Peer => Telemetry.Peer;

    /// <summary>What this connection reports (counts, frame errors, close), on its pipe's logger and meter.</summary>
    internal ConnectionTelemetry Telemetry { get; }

    /// <summary>Why the connection ended, or <see cref="NPipes.DisconnectReason.None"/> while it is open.</summary>
    public DisconnectReason DisconnectReason => (DisconnectReason)Volatile.Read(ref _reason);

    /// <summary>Whether the connection is still open.</summary>
    public bool IsConnected => DisconnectReason == DisconnectReason.None;

    /// <summary>How long closing waits for queued frames when the peer takes none of them.</summary>
    private static readonly TimeSpan CloseFlushStall = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Synchronous twin of <see cref="DisposeAsync"/>: writes what is queued on the calling thread (giving up if the peer
    /// takes nothing for a second), then closes the connection.
    /// </summary>
    public void Dispose()
    {
        if (IsConnected && _queue is not null)
        {
            SyncTwin.Wait(_queue.FlushForCloseAsync(sync: true, CloseFlushStall));
        }
        CloseLocally();
    }

    /// <summary>Writes what is queued (giving up if the peer takes nothing for a second), then closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (IsConnected && _queue is not null)
        {
            await _queue.FlushForCloseAsync(sync: false, CloseFlushStall).ConfigureAwait(false);
        }
        CloseLocally();
    }

    private void CloseLocally()
    {
        Interlocked.CompareExchange(ref _reason, (int)DisconnectReason.LocalClose, (int)DisconnectReason.None);
        _stream.Dispose();
        _queue?.Close();
        _writer.Shared?.Ring.Close();
        ReleaseReader();
        OnClosed();
    }

    /// <summary>
    /// For one-message-per-connection senders: returns true once the peer has read what was written and closed, false
    /// when the peer wrote back (it is another sender, not a receiver) or the connection was reset unread (on Unix, a
    /// receiver that closed its listener while this connection still sat in the accept backlog), in which case the message
    /// was not delivered and may be sent again. What "read" means is the transport's (<see cref="ITransportStream.ConfirmDeliveredAsync"/>).
    /// </summary>
    internal async ValueTask<bool> ConfirmReadAsync(CancellationToken cancellationToken)
    {
        if (_queue is not null)
        {
            try
            {
                await _queue.FlushAsync(sync: false, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                return false;
            }
        }
        return _transport is null || await _transport.ConfirmDeliveredAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Close(DisconnectReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)DisconnectReason.None) == (int)DisconnectReason.None)
        {
            _stream.Dispose();
            _queue?.Close();
            _writer.Shared?.Ring.Close();
            ReleaseReader();
            OnClosed();
        }
    }

    /// <summary>
    /// An end of stream seen after this side had closed the connection (Dispose, idle or write timeout) is that close, not
    /// the peer's: a socket closed under a pending receive can end it with 0 bytes. Report the real reason.
    /// </summary>
    private void ThrowIfClosedLocally(DisconnectReason peerReason, Exception? innerException)
    {
        DisconnectReason reason = DisconnectReason;
        if (reason != peerReason)
        {
            throw new ConnectionClosedException(reason, innerException);
        }
    }

    private void ThrowIfClosed()
    {
        if (!IsConnected)
        {
            throw ClosedException();
        }
    }

    /// <summary>The error for an operation on a closed connection: the reason, and the write error behind it if there was one.</summary>
    private ConnectionClosedException ClosedException() =>
        new(DisconnectReason, _queue?.Failure is { } failure and not ObjectDisposedException ? failure : null);
}
