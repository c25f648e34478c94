using System.Buffers;
using System.Runtime.CompilerServices;
using NPipes.Diagnostics;
using NPipes.Messaging;
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
/// first. On Windows every frame is one write (one pipe message, as npipes reads) and a send completes when it is
/// written.</para>
/// </remarks>
public sealed partial class PipeConnection : IAsyncDisposable, IDisposable
{
    private readonly Stream _stream;
    private readonly FrameReader _reader;
    private readonly IFrameWriter _writer;
    private int _reading;
    private int _reason;

    internal PipeConnection(Stream stream, string pipeName, NPipesOptions options, PipeTelemetry? telemetry = null)
    {
        Telemetry = (telemetry ?? PipeTelemetry.For(pipeName, options)).Open(stream);
        _stream = stream;
        PipeName = pipeName;
        Options = options;
        _reader = new FrameReader(stream);
        // Windows pipes are message mode: one write per frame. Unix sockets are byte streams: frames are coalesced.
        _writer = OperatingSystem.IsWindows() ? new FrameWriter(stream) : new CoalescingFrameWriter(stream, _ => Close(DisconnectReason.IOError));
    }

    /// <summary>Connects to the server on <paramref name="pipeName"/>, waiting up to <see cref="NPipesOptions.Timeout"/> for one to appear.</summary>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    /// <exception cref="TimeoutException">No server accepted within the timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    /// <exception cref="UnauthorizedAccessException">Current-user-only is on and the server runs as another user.</exception>
    public static async Task<PipeConnection> ConnectAsync(string pipeName, NPipesOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= NPipesOptions.Default;
        return await ConnectCoreAsync(pipeName, options, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Connects, reporting through <paramref name="telemetry"/> (a client's) instead of the options' own.</summary>
    internal static async Task<PipeConnection> ConnectCoreAsync(string pipeName, NPipesOptions options, PipeTelemetry? telemetry, CancellationToken cancellationToken)
    {
        Stream stream = await PipeConnector.ConnectAsync(pipeName, options.CurrentUserOnly, options.Timeout, cancellationToken).ConfigureAwait(false);
        return new PipeConnection(stream, pipeName, options, telemetry);
    }

    /// <summary>Synchronous twin of <see cref="ConnectAsync"/>.</summary>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    /// <exception cref="TimeoutException">No server accepted within the timeout.</exception>
    public static PipeConnection Connect(string pipeName, NPipesOptions? options = null) =>
        ConnectAsync(pipeName, options, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>The pipe name this connection is on.</summary>
    public string PipeName { get; }

    /// <summary>The options in force: frame format, access, timeout.</summary>
    public NPipesOptions Options { get; }

    /// <summary>Why the connection ended, or <see cref="NPipes.DisconnectReason.None"/> while it is open.</summary>
    public DisconnectReason DisconnectReason => (DisconnectReason)Volatile.Read(ref _reason);

    /// <summary>Whether the connection is still open.</summary>
    public bool IsConnected => DisconnectReason == DisconnectReason.None;

    /// <summary>
    /// Sends one binary message: completes once the frame is queued in order on the connection (on Unix; see the
    /// delivery contract in the remarks of <see cref="PipeConnection"/>). The payload may be reused as soon as this completes.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed, broke during the write, or an earlier queued write failed (the inner exception says how).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if the frame was partly written the connection is closed.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        SendCoreAsync(payload, null, push: false, sync: false, cancellationToken);

    /// <summary>
    /// Waits until every message sent before this call has been written to the pipe (handed to the operating system).
    /// Sends are queued and written in the background on Unix; this is how to know they went out. A no-op on Windows.
    /// </summary>
    /// <exception cref="ConnectionClosedException">The connection is closed, or a queued write failed (the inner exception says how).</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting; what is queued stays queued.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        try
        {
            await _writer.FlushAsync(sync: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, _writer.Failure ?? e);
        }
    }

    /// <summary>Synchronous twin of <see cref="FlushAsync"/>.</summary>
    /// <exception cref="ConnectionClosedException">The connection is closed, or a queued write failed.</exception>
    public void Flush()
    {
        ThrowIfClosed();
        try
        {
            _writer.FlushAsync(sync: true, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, _writer.Failure ?? e);
        }
    }

    /// <summary>Sends one text message in the configured encoding.</summary>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    /// <exception cref="FrameTooLargeException">The encoded text exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public ValueTask SendAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SendCoreAsync(default, text, push: false, sync: false, cancellationToken);
    }

    /// <summary>Synchronous twin of <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public void Send(ReadOnlyMemory<byte> payload) => SendCoreAsync(payload, null, push: false, sync: true, default).GetAwaiter().GetResult();

    /// <summary>Synchronous twin of <see cref="SendAsync(string, CancellationToken)"/>.</summary>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public void Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        SendCoreAsync(default, text, push: false, sync: true, default).GetAwaiter().GetResult();
    }

    /// <summary>Receives the next message, or null when the peer closed cleanly between frames. Dispose the message to recycle its buffer.</summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if part of a frame had been read the connection is closed.</exception>
    /// <exception cref="InvalidOperationException">Another receive is in progress.</exception>
    public ValueTask<PipeMessage?> ReceiveAsync(CancellationToken cancellationToken = default) => ReceiveCoreAsync(sync: false, cancellationToken);

    /// <summary>
    /// Receives the next message's payload into <paramref name="destination"/> (appended and advanced past, as an
    /// <see cref="IBufferWriter{T}"/> does) and returns its length, or -1 when the peer closed cleanly between frames.
    /// With a reused writer (for example an <see cref="ArrayBufferWriter{T}"/> whose written count is reset per message)
    /// receiving allocates nothing. Errors and the one-reader rule are as for <see cref="ReceiveAsync"/>; on an error
    /// nothing is advanced.
    /// </summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if part of a frame had been read the connection is closed.</exception>
    /// <exception cref="InvalidOperationException">Another receive is in progress.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveIntoAsync(IBufferWriter<byte> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return (await ReceiveFrameAsync(destination, sync: false, cancellationToken).ConfigureAwait(false)).Length;
    }

    /// <summary>Synchronous twin of <see cref="ReceiveIntoAsync"/>.</summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    public int ReceiveInto(IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return ReceiveFrameAsync(destination, sync: true, default).GetAwaiter().GetResult().Length;
    }

    /// <summary>Synchronous twin of <see cref="ReceiveAsync"/>.</summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    public PipeMessage? Receive() => ReceiveCoreAsync(sync: true, default).GetAwaiter().GetResult();

    /// <summary>Receives the next message as text, or null when the peer closed cleanly between frames.</summary>
    /// <exception cref="InvalidTextException">The payload is not valid in the configured encoding (the connection stays open).</exception>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    public async ValueTask<string?> ReceiveTextAsync(CancellationToken cancellationToken = default)
    {
        using PipeMessage? message = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
        return message?.GetText();
    }

    /// <summary>Synchronous twin of <see cref="ReceiveTextAsync"/>.</summary>
    /// <exception cref="InvalidTextException">The payload is not valid in the configured encoding (the connection stays open).</exception>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    public string? ReceiveText()
    {
        using PipeMessage? message = Receive();
        return message?.GetText();
    }

    /// <summary>Every message until the peer closes cleanly. Errors end the sequence by throwing, as <see cref="ReceiveAsync"/> does.</summary>
    public async IAsyncEnumerable<PipeMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReceiveAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
    }

    /// <summary>How long closing waits for queued frames when the peer takes none of them.</summary>
    private static readonly TimeSpan CloseFlushStall = TimeSpan.FromSeconds(1);

    /// <summary>Writes what is queued (giving up if the peer takes nothing for a second), then closes the connection.</summary>
    public void Dispose()
    {
        if (IsConnected)
        {
            _writer.FlushForCloseAsync(sync: true, CloseFlushStall).GetAwaiter().GetResult();
        }
        CloseLocally();
    }

    /// <summary>Writes what is queued (giving up if the peer takes nothing for a second), then closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (IsConnected)
        {
            await _writer.FlushForCloseAsync(sync: false, CloseFlushStall).ConfigureAwait(false);
        }
        CloseLocally();
    }

    private void CloseLocally()
    {
        Interlocked.CompareExchange(ref _reason, (int)DisconnectReason.LocalClose, (int)DisconnectReason.None);
        _stream.Dispose();
        _writer.Close();
        _writer.Dispose();
        OnClosed();
    }

    /// <summary>
    /// For one-message-per-connection senders: returns true once the peer has read what was written and closed, false
    /// when the peer wrote back (it is another sender, not a receiver) or the connection was reset unread (on Unix, a receiver that closed its listener while this connection still
    /// sat in the accept backlog), in which case the message was not delivered and may be sent again.
    /// Unix: half-closes and waits for the peer's end of stream. Windows: waits for the pipe to drain.
    /// </summary>
    internal async ValueTask<bool> ConfirmReadAsync(CancellationToken cancellationToken)
    {
        if (_stream is System.IO.Pipes.PipeStream pipe)
        {
            if (OperatingSystem.IsWindows() && pipe.IsConnected)
            {
                try
                {
                    pipe.WaitForPipeDrain();
                }
                catch (IOException)
                {
                    // The peer has already read and closed: nothing left to drain.
                }
            }
            return true;
        }
        if (_stream is not System.Net.Sockets.NetworkStream network)
        {
            return true;
        }
        try
        {
            await _writer.FlushAsync(sync: false, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return false;
        }
        try
        {
            network.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            // A receiver sends nothing back and closes once it has read. A peer that writes is not a receiver (two
            // senders met): our frame was not taken, so report it undelivered and let the caller meet again.
            byte[] sink = new byte[256];
            int wroteBack = 0;
            int n;
            while ((n = await network.ReadAsync(sink, cancellationToken).ConfigureAwait(false)) > 0)
            {
                wroteBack += n;
            }
            return wroteBack == 0;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Writes or queues one frame; <paramref name="push"/> (requests) gets it moving at once instead of on the background flush.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendCoreAsync(ReadOnlyMemory<byte> payload, string? text, bool push, bool sync, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        try
        {
            if (text is null)
            {
                await _writer.WriteAsync(payload, Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _writer.WriteTextAsync(text, Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            }
            if (push)
            {
                await _writer.PushAsync(sync).ConfigureAwait(false);
            }
            Telemetry.Sent(payload, text, Options.Frame);
        }
        catch (OperationCanceledException) when (_writer.InFrame)
        {
            Close(DisconnectReason.Aborted);
            throw;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, _writer.Failure ?? e);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PipeMessage?> ReceiveCoreAsync(bool sync, CancellationToken cancellationToken)
    {
        FrameReader.Frame frame = await ReceiveFrameAsync(null, sync, cancellationToken).ConfigureAwait(false);
        return frame.Length < 0 ? null : new PipeMessage(frame.Pooled ?? [], frame.Length, Options.Frame, frame.Crc);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FrameReader.Frame> ReceiveFrameAsync(IBufferWriter<byte>? destination, bool sync, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _reading, 1) == 1)
        {
            throw new InvalidOperationException("Another receive is in progress: a connection has one reader at a time.");
        }
        try
        {
            if (DisconnectReason == DisconnectReason.PeerClosed)
            {
                return new FrameReader.Frame(null, -1, 0);
            }
            ThrowIfClosed();
            // Frames queued by earlier sends go out before this read can wait for the peer (who may be waiting for them).
            await _writer.PushAsync(sync).ConfigureAwait(false);
            FrameReader.Frame frame = await _reader.ReadFrameAsync(Options.Frame, destination, sync, cancellationToken).ConfigureAwait(false);
            Telemetry.Received(frame.Length);
            if (frame.Length < 0)
            {
                Close(DisconnectReason.PeerClosed);
                ThrowIfClosedLocally(DisconnectReason.PeerClosed, null);
            }
            return frame;
        }
        catch (FrameException e)
        {
            Close(e is IncompleteFrameException ? DisconnectReason.PeerDiedMidFrame : DisconnectReason.ProtocolError);
            if (e is IncompleteFrameException)
            {
                ThrowIfClosedLocally(DisconnectReason.PeerDiedMidFrame, e);
            }
            Telemetry.FrameError(e);
            throw;
        }
        catch (OperationCanceledException) when (_reader.InFrame)
        {
            Close(DisconnectReason.Aborted);
            throw;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(_reader.InFrame ? DisconnectReason.PeerDiedMidFrame : DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, e);
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    private void Close(DisconnectReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)DisconnectReason.None) == (int)DisconnectReason.None)
        {
            _stream.Dispose();
            _writer.Close();
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
        DisconnectReason reason = DisconnectReason;
        if (reason != DisconnectReason.None)
        {
            throw new ConnectionClosedException(reason, _writer.Failure is { } failure and not ObjectDisposedException ? failure : null);
        }
    }
}
