using System.Net.Sockets;

namespace NPipes.Transport;

/// <summary>
/// The netstandard2.0 build's <see cref="UnixSocketStream"/>: a plain <see cref="NetworkStream"/>, no direct sends or
/// receives, except that its asynchronous reads and writes end when their token fires on every runtime. Mono's and .NET
/// Framework's NetworkStream look at the token only before they start (Stream's Begin/End pattern), so there a receive,
/// an Ipc timeout or a cancellation waited for the peer instead: for ever, if the peer stalled (found by the Mono lane,
/// .ci/mono-lane.sh). .NET Core's honours the token itself; these overrides give the same outcome there.
/// </summary>
internal sealed partial class UnixSocketStream
{
    /// <summary>A zero-byte read still waiting for the socket to become readable, left by a cancelled read.</summary>
    private Task<int>? _readable;

    public IDirectSend? DirectSend => null;

    public IDirectReceive? DirectReceive => null;

    /// <summary>
    /// With a token that can fire, first waits for the socket to be readable through a zero-byte read, which takes no byte:
    /// abandoned when the token fires, it loses nothing, so a receive cancelled between frames leaves the connection
    /// usable, as on .NET 10. The next read waits on that same zero-byte read, so at most one is ever outstanding.
    /// </summary>
    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        if (count > 0 && (cancellationToken.CanBeCanceled || _readable is not null))
        {
            await UntilReadableAsync(cancellationToken).ConfigureAwait(false);
        }
        return await base.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A write cannot be abandoned without tearing a frame: when the token fires the socket is closed, which ends the
    /// write on every runtime. A write cancelled part-way closes the connection on .NET 10 too.
    /// </summary>
    public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using (cancellationToken.CanBeCanceled ? cancellationToken.Register(static s => ((Socket)s!).Dispose(), Socket) : default)
        {
            try
            {
                await base.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is IOException or ObjectDisposedException or SocketException)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
    }

    private async Task UntilReadableAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Task<int> readable = _readable ?? Socket.ReceiveAsync(new ArraySegment<byte>([]), SocketFlags.None);
        _readable = null;
        if (!readable.IsCompleted)
        {
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(true), cancelled))
            {
                if (await Task.WhenAny(readable, cancelled.Task).ConfigureAwait(false) != readable)
                {
                    _readable = readable;
                    // Observed here: a connection closed with this read pending raises no unobserved exception.
                    _ = readable.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    throw new OperationCanceledException(cancellationToken);
                }
            }
        }
        // Readable, at end of stream, or failed: the real read that follows returns the bytes, 0, or the same error.
        _ = readable.Exception;
    }
}
