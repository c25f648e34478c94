using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace System.Net.Sockets;

/// <summary>
/// .NET 5-6's cancellable <c>Socket.ConnectAsync</c> and <c>AcceptAsync</c> for netstandard2.0, over the Task-based
/// ones, which cannot be cancelled. A cancelled connect closes its socket (the caller discards it anyway). A cancelled
/// accept stays pending on the listener and the listener's next accept takes it over, so a client that arrives in
/// between is handed out, never accepted and dropped. A listener that is closed with an accept pending must call
/// <c>ClosePendingAccept</c>: a client the pending accept took (it completes on its own, after the cancellation) is
/// closed, else that client would wait forever on a connection nobody holds.
/// </summary>
[Embedded]
internal static class SocketPolyfills
{
    private static readonly ConditionalWeakTable<Socket, StrongBox<Task<Socket>?>> s_pendingAccepts = new();

    extension(Socket socket)
    {
        public async ValueTask ConnectAsync(EndPoint remoteEP, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (cancellationToken.Register(static s => ((Socket)s!).Dispose(), socket))
            {
                try
                {
                    await socket.ConnectAsync(remoteEP).ConfigureAwait(false);
                }
                catch (Exception e) when (cancellationToken.IsCancellationRequested && e is ObjectDisposedException or SocketException)
                {
                    throw new OperationCanceledException(cancellationToken);
                }
            }
        }

        public async ValueTask<Socket> AcceptAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            StrongBox<Task<Socket>?> pending = s_pendingAccepts.GetValue(socket, static _ => new StrongBox<Task<Socket>?>());
            Task<Socket> accept;
            lock (pending)
            {
                accept = pending.Value ?? socket.AcceptAsync();
                pending.Value = null;
            }
            if (!accept.IsCompleted && cancellationToken.CanBeCanceled)
            {
                var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (cancellationToken.Register(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(true), cancelled))
                {
                    if (await Task.WhenAny(accept, cancelled.Task).ConfigureAwait(false) != accept)
                    {
                        lock (pending)
                        {
                            pending.Value = accept;
                        }
                        // Observed here, so a listener disposed with this accept pending raises no unobserved exception.
                        _ = accept.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                        throw new OperationCanceledException(cancellationToken);
                    }
                }
            }
            return await accept.ConfigureAwait(false);
        }

        /// <summary>
        /// After the listener was disposed: closes the client that a cancelled, still pending accept took, whenever that
        /// accept completes (it fails instead when the disposal ended it first).
        /// </summary>
        public void ClosePendingAccept()
        {
            if (!s_pendingAccepts.TryGetValue(socket, out StrongBox<Task<Socket>?>? pending))
            {
                return;
            }
            Task<Socket>? accept;
            lock (pending)
            {
                accept = pending.Value;
                pending.Value = null;
            }
            _ = accept?.ContinueWith(static t =>
            {
                if (t.Status == TaskStatus.RanToCompletion)
                {
                    t.Result.Dispose();
                }
                else
                {
                    _ = t.Exception;
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}
