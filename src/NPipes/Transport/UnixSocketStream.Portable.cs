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

    /// <summary>SIOCOUTQ on Linux, as the net10.0 build's fast path asks (ConfirmDeliveredAsync); elsewhere left as it is.</summary>
    partial void UnreadByPeer(ref long unread)
    {
        if (OperatingSystem.IsLinux())
        {
            int queued;
            unsafe
            {
                if (UnixNative.ioctl((int)Socket.Handle, 0x5411 /* SIOCOUTQ */, &queued) == 0)
                {
                    unread = queued;
                }
            }
        }
    }

    public IDirectReceive? DirectReceive => null;

    public ISharedMemoryTransport? SharedMemory => null;

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
    /// A write cannot be abandoned without tearing a frame: when the token fires while it is pending, the socket is closed,
    /// which ends the write on every runtime, and the write throws <see cref="OperationCanceledException"/>. A write
    /// cancelled part-way closes the connection on .NET 10 too. A token that fires once the write is done does nothing.
    /// </summary>
    public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!cancellationToken.CanBeCanceled)
        {
            await base.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
            return;
        }
        var write = new PendingWrite(Socket);
        using (cancellationToken.Register(static s => ((PendingWrite)s!).Abort(), write))
        {
            try
            {
                await base.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (write.Aborted && e is IOException or ObjectDisposedException or SocketException)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            if (!write.TryComplete())
            {
                throw new OperationCanceledException(cancellationToken); // the token won the race: the socket is closed
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

    /// <summary>A write in progress: the token's callback closes the socket only while the write has not completed.</summary>
    private sealed class PendingWrite(Socket socket)
    {
        private const int Pending = 0, Completed = 1, Aborting = 2;
        private int _state;

        public bool Aborted => Volatile.Read(ref _state) == Aborting;

        public void Abort()
        {
            if (Interlocked.CompareExchange(ref _state, Aborting, Pending) == Pending)
            {
                socket.Dispose();
            }
        }

        /// <summary>Marks the write done; false when the token closed the socket first.</summary>
        public bool TryComplete() => Interlocked.CompareExchange(ref _state, Completed, Pending) == Pending;
    }
}
