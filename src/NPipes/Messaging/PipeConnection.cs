using System.Runtime.CompilerServices;
using NPipes.Messaging;
using NPipes.Transport;

namespace NPipes;

/// <summary>
/// A persistent, duplex connection carrying npipes frames both ways. One reader at a time; any number of writers,
/// serialised, each frame written whole. Errors are typed; after a frame error or an interruption mid-frame the
/// connection closes itself (the stream has lost frame sync) and <see cref="DisconnectReason"/> says why.
/// </summary>
public sealed partial class PipeConnection : IAsyncDisposable, IDisposable
{
    private readonly Stream _stream;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private int _reading;
    private int _reason;

    internal PipeConnection(Stream stream, string pipeName, NPipesOptions options)
    {
        _stream = stream;
        PipeName = pipeName;
        Options = options;
        _reader = new FrameReader(stream);
        _writer = new FrameWriter(stream);
    }

    /// <summary>Connects to the server on <paramref name="pipeName"/>, waiting up to <see cref="NPipesOptions.Timeout"/> for one to appear.</summary>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    /// <exception cref="TimeoutException">No server accepted within the timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    /// <exception cref="UnauthorizedAccessException">Current-user-only is on and the server runs as another user.</exception>
    public static async Task<PipeConnection> ConnectAsync(string pipeName, NPipesOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= NPipesOptions.Default;
        Stream stream = await PipeConnector.ConnectAsync(pipeName, options.CurrentUserOnly, options.Timeout, cancellationToken).ConfigureAwait(false);
        return new PipeConnection(stream, pipeName, options);
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

    /// <summary>Sends one binary message.</summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if the frame was partly written the connection is closed.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        SendCoreAsync(payload, null, sync: false, cancellationToken);

    /// <summary>Sends one text message in the configured encoding.</summary>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    /// <exception cref="FrameTooLargeException">The encoded text exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public ValueTask SendAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SendCoreAsync(default, text, sync: false, cancellationToken);
    }

    /// <summary>Synchronous twin of <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds the maximum; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public void Send(ReadOnlyMemory<byte> payload) => SendCoreAsync(payload, null, sync: true, default).GetAwaiter().GetResult();

    /// <summary>Synchronous twin of <see cref="SendAsync(string, CancellationToken)"/>.</summary>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public void Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        SendCoreAsync(default, text, sync: true, default).GetAwaiter().GetResult();
    }

    /// <summary>Receives the next message, or null when the peer closed cleanly between frames. Dispose the message to recycle its buffer.</summary>
    /// <exception cref="FrameException">The peer sent an invalid frame or died mid-frame; the connection is closed.</exception>
    /// <exception cref="ConnectionClosedException">The connection was already closed, or broke.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if part of a frame had been read the connection is closed.</exception>
    /// <exception cref="InvalidOperationException">Another receive is in progress.</exception>
    public ValueTask<PipeMessage?> ReceiveAsync(CancellationToken cancellationToken = default) => ReceiveCoreAsync(sync: false, cancellationToken);

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

    /// <summary>Closes the connection.</summary>
    public void Dispose()
    {
        Interlocked.CompareExchange(ref _reason, (int)DisconnectReason.LocalClose, (int)DisconnectReason.None);
        _stream.Dispose();
        _writer.Dispose();
        OnClosed();
    }

    /// <summary>Closes the connection.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
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

    private async ValueTask SendCoreAsync(ReadOnlyMemory<byte> payload, string? text, bool sync, CancellationToken cancellationToken)
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
        }
        catch (OperationCanceledException) when (_writer.InFrame)
        {
            Close(DisconnectReason.Aborted);
            throw;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && e is not NPipesException)
        {
            Close(DisconnectReason.IOError);
            throw new ConnectionClosedException(DisconnectReason, e);
        }
    }

    private async ValueTask<PipeMessage?> ReceiveCoreAsync(bool sync, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _reading, 1) == 1)
        {
            throw new InvalidOperationException("Another receive is in progress: a connection has one reader at a time.");
        }
        try
        {
            if (DisconnectReason == DisconnectReason.PeerClosed)
            {
                return null;
            }
            ThrowIfClosed();
            PipeMessage? message = await _reader.ReadAsync(Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            if (message is null)
            {
                Close(DisconnectReason.PeerClosed);
                ThrowIfClosedLocally(DisconnectReason.PeerClosed, null);
            }
            return message;
        }
        catch (FrameException e)
        {
            Close(e is IncompleteFrameException ? DisconnectReason.PeerDiedMidFrame : DisconnectReason.ProtocolError);
            if (e is IncompleteFrameException)
            {
                ThrowIfClosedLocally(DisconnectReason.PeerDiedMidFrame, e);
            }
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
            throw new ConnectionClosedException(reason);
        }
    }
}
