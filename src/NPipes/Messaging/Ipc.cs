using System.Runtime.CompilerServices;
using NPipes.Messaging;
using NPipes.Transport;

namespace NPipes;

/// <summary>
/// npipes 1.0.1's API in C#: one message per connection, either side may start first. Unlike npipes, errors are typed
/// exceptions (never printed and swallowed), and every call is bounded by <see cref="NPipesOptions.Timeout"/>: meeting
/// the other side and transferring the whole message. The asynchronous calls also take a cancellation token; the
/// synchronous twins (<see cref="SendMessage"/>, <see cref="ReceiveMessage"/>) take none.
/// </summary>
/// <example>
/// <code>
/// new Ipc().SendMessage("Hello", crc: true);            // one process
/// string text = new Ipc().ReceiveMessage(crc: true);     // another
/// </code>
/// </example>
public sealed class Ipc
{
    /// <summary>Creates the facade for a pipe name (npipes' default is IPC_PIPE_DEFAULT).</summary>
    /// <exception cref="ArgumentException">The name is not valid on this platform.</exception>
    public Ipc(string pipeName = PipeNames.Default, NPipesOptions? options = null)
    {
        PipeNames.Validate(pipeName);
        PipeName = pipeName;
        Options = options ?? NPipesOptions.Default;
    }

    /// <summary>The pipe name.</summary>
    public string PipeName { get; }

    /// <summary>The options: frame format (byte order, encoding, payload limit), timeout and access.</summary>
    public NPipesOptions Options { get; }

    /// <summary>The text of the last message sent or received; empty before the first.</summary>
    public string Message { get; private set; } = "";

    /// <summary>
    /// Sends one message, as npipes' <c>send_message</c>: creates the pipe and waits for a reader, or connects to a waiting
    /// one. Synchronous twin of <see cref="SendMessageAsync"/>: the same operation, blocking the calling thread until it
    /// completes; no cancellation token, bounded by <see cref="NPipesOptions.Timeout"/>. Meeting a peer has no blocking
    /// form, so this waits for the asynchronous send.
    /// </summary>
    /// <param name="text">The message text, encoded with the configured encoding.</param>
    /// <param name="crc">Whether to carry the payload's CRC-32 (else the field is 0).</param>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    /// <exception cref="FrameTooLargeException">The text exceeds the payload limit; nothing was sent.</exception>
    /// <exception cref="TimeoutException">The other side did not come within the timeout.</exception>
    /// <exception cref="ConnectionClosedException">The pipe broke during the write.</exception>
    public void SendMessage(string text, bool crc = false) => SyncTwin.Wait(SendMessageAsync(text, crc, CancellationToken.None));

    /// <summary>
    /// Receives one message, as npipes' <c>receive_message</c>: connects to a waiting sender, or (on Unix) creates the
    /// pipe and waits for one. On Windows a receiver started alone waits for the sender to create the pipe, because
    /// npipes 1.0.1's sender can only create it; so npipes senders work whichever side starts first. Synchronous twin of
    /// <see cref="ReceiveMessageAsync"/>: the same operation, blocking the calling thread until it completes; no
    /// cancellation token, bounded by <see cref="NPipesOptions.Timeout"/>. Meeting a peer has no blocking form, so this
    /// waits for the asynchronous receive.
    /// </summary>
    /// <param name="crc">Whether to check the frame's CRC-32.</param>
    /// <returns>The message text.</returns>
    /// <exception cref="CrcMismatchException">The CRC did not match; no text is returned.</exception>
    /// <exception cref="FrameException">The frame was invalid, or the sender died mid-frame.</exception>
    /// <exception cref="TimeoutException">No sender came within the timeout.</exception>
    public string ReceiveMessage(bool crc = false) => SyncTwin.Wait(ReceiveMessageAsync(crc, CancellationToken.None));

    /// <summary>Asynchronous <see cref="SendMessage"/>.</summary>
    /// <exception cref="InvalidTextException">The text cannot be encoded; nothing was sent.</exception>
    /// <exception cref="TimeoutException">The other side did not come within the timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task SendMessageAsync(string text, bool crc = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        NPipesOptions options = Options.WithCrc(crc);
        FrameCodec.CheckPayloadLength(FrameCodec.GetByteCount(text, options.Frame), options.Frame); // fail before waiting for a peer
        int closedUnread = 0; // peers that took the connection but not the frame: the likely cause of a timeout (docs/wire-format.md §6)
        try
        {
            await SendUntilTakenAsync(text, options, () => closedUnread++, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e) when (closedUnread > 0)
        {
            throw new TimeoutException(e.Message + " " + MismatchHint.ClosedUnread(closedUnread), e);
        }
    }

    /// <summary>Meets peers until a receiver has read the whole frame; <paramref name="closedUnread"/> hears of each peer that did not.</summary>
    private async Task SendUntilTakenAsync(string text, NPipesOptions options, Action closedUnread, CancellationToken cancellationToken)
    {
        await WithDeadlineAsync("Sending", options, async token =>
        {
            while (true)
            {
                (Stream stream, PipeListener? listener) = await Rendezvous.MeetAsync(PipeName, options, receiver: false, token).ConfigureAwait(false);
                using (listener)
                await using (var connection = new PipeConnection(stream, PipeName, options))
                {
                    try
                    {
                        // Done only when the receiver has read it. A write that fails (the peer closed: we sat in a closing
                        // server's backlog) or a connection reset unread is retried, never reported as sent, as a failed
                        // flush in ConfirmReadAsync is: the peer cannot have read a frame whose bytes did not all go out.
                        if (await TrySendAsync(connection, text, token).ConfigureAwait(false)
                            && await connection.ConfirmReadAsync(token).ConfigureAwait(false))
                        {
                            Message = text;
                            return 0;
                        }
                        closedUnread();
                    }
                    catch
                    {
                        // Timed out, cancelled or failed: close at once. A graceful close would first try to write what is
                        // still queued, for as long as the peer keeps taking bytes, past the deadline.
                        connection.CloseWith(DisconnectReason.Aborted);
                        throw;
                    }
                }
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the frame; false when the peer had already closed (nothing it could have read whole).</summary>
    private static async ValueTask<bool> TrySendAsync(PipeConnection connection, string text, CancellationToken cancellationToken)
    {
        try
        {
            await connection.SendAsync(text, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConnectionClosedException)
        {
            return false;
        }
    }

    /// <summary>Asynchronous <see cref="ReceiveMessage"/>.</summary>
    /// <exception cref="CrcMismatchException">The CRC did not match; no text is returned.</exception>
    /// <exception cref="FrameException">The frame was invalid, or the sender died mid-frame.</exception>
    /// <exception cref="TimeoutException">No sender came within the timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public Task<string> ReceiveMessageAsync(bool crc = false, CancellationToken cancellationToken = default)
    {
        NPipesOptions options = Options.WithCrc(crc);
        return WithDeadlineAsync("Receiving", options, async token =>
        {
            while (true)
            {
                (Stream stream, PipeListener? listener) = await Rendezvous.MeetAsync(PipeName, options, receiver: true, token).ConfigureAwait(false);
                using (listener)
                {
                    while (true)
                    {
                        await using var connection = new PipeConnection(stream, PipeName, options);
                        using PipeMessage? message = await ReceiveFirstAsync(connection, token).ConfigureAwait(false);
                        if (message is not null)
                        {
                            string text = message.GetText();
                            Message = text;
                            return text;
                        }
                        if (listener is null)
                        {
                            break; // the server we met closed without a message for us: meet afresh
                        }
                        // A client that left without sending (a probe, an aborted sender): wait for the real one.
                        stream = await listener.AcceptAsync(token).ConfigureAwait(false);
                    }
                }
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Receives messages for as long as the caller enumerates, across as many connections as it takes: npipes senders
    /// bring one message per connection, a persistent client may bring many on one. Connections are served one after
    /// another, each read to its end. The timeout (<see cref="NPipesOptions.Timeout"/>) bounds each message, from the
    /// moment the caller asks for it to its last byte: meeting or accepting a sender, and reading the frame. Dispose each
    /// message (or use its text) before taking the next one.
    /// </summary>
    /// <exception cref="FrameException">A frame was invalid or the sender died mid-frame.</exception>
    /// <exception cref="TimeoutException">The next message did not arrive whole within the timeout.</exception>
    public async IAsyncEnumerable<PipeMessage> ReceiveMessagesAsync(bool crc = false, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        NPipesOptions options = Options.WithCrc(crc);
        var deadline = Deadline.After(options.Timeout); // for the next message; renewed each time the caller asks for one
        while (true)
        {
            (Stream stream, PipeListener? listener) = await WithDeadlineAsync("Receiving", deadline,
                async token => await Rendezvous.MeetAsync(PipeName, options, receiver: true, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            using (listener)
            {
                while (true)
                {
                    await using (var connection = new PipeConnection(stream, PipeName, options))
                    {
                        PipeMessage? message = await WithDeadlineAsync("Receiving", deadline,
                            token => ReceiveFirstAsync(connection, token).AsTask(), cancellationToken).ConfigureAwait(false);
                        while (message is not null)
                        {
                            Message = message.GetText();
                            yield return message;
                            deadline = Deadline.After(options.Timeout);
                            message = await WithDeadlineAsync("Receiving", deadline,
                                token => connection.ReceiveAsync(token).AsTask(), cancellationToken).ConfigureAwait(false);
                        }
                    }
                    if (listener is null)
                    {
                        break; // we were the client: meet the next sender afresh
                    }
                    // We hold the pipe: keep it, so senders already queued on it are served, not dropped.
                    PipeListener server = listener;
                    stream = await WithDeadlineAsync("Receiving", deadline,
                        async token => await server.AcceptAsync(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// The first message on a fresh connection, or null when it ended before any frame began: cleanly, or reset by a
    /// server that closed with this connection still queued (Unix). Either way nothing was lost, so the caller meets again.
    /// </summary>
    private static async ValueTask<PipeMessage?> ReceiveFirstAsync(PipeConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ConnectionClosedException e) when (e.Reason == DisconnectReason.IOError)
        {
            return null;
        }
    }

    /// <summary>Runs <paramref name="body"/> with a token that fires at the timeout, which becomes a <see cref="TimeoutException"/> naming the pipe.</summary>
    private Task<T> WithDeadlineAsync<T>(string what, NPipesOptions options, Func<CancellationToken, Task<T>> body, CancellationToken cancellationToken) =>
        WithDeadlineAsync(what, Deadline.After(options.Timeout), body, cancellationToken);

    /// <summary>As above, with a deadline shared by several steps (each step gets what is left of it).</summary>
    private async Task<T> WithDeadlineAsync<T>(string what, Deadline deadline, Func<CancellationToken, Task<T>> body, CancellationToken cancellationToken)
    {
        using CancellationTokenSource? cts = deadline.Link(cancellationToken, out CancellationToken token);
        try
        {
            return await body(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && token.IsCancellationRequested)
        {
            throw new TimeoutException(deadline.Expired($"{what} on pipe '{PipeName}'").Message, e);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            // Name the pipe and the wait (the other side, or the transfer) instead of "A task was canceled".
            throw new OperationCanceledException($"{what} on pipe '{PipeName}' was cancelled before the whole message was transferred (waiting for the other side, or for its bytes).", e, cancellationToken);
        }
    }
}
