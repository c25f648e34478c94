using System.Net.Sockets;
using System.Runtime.Versioning;
using NPipes.Transport;

namespace NPipes.Messaging;

/// <summary>
/// How the two sides of <see cref="Ipc"/> meet: whichever side finds a server connects to it; a side that finds none
/// creates a single-instance pipe and waits. So either side may start first, or both at once. On Windows the order is
/// npipes' own (create, and on "busy" connect), so npipes 1.0.1 peers meet NPipes the way they meet each other.
/// </summary>
internal static class Rendezvous
{
    /// <summary>
    /// A connected stream, plus the listener when this side became the server (to accept again if a client leaves
    /// empty-handed). <paramref name="receiver"/>: on Windows a receiver never creates the pipe but waits for the sender
    /// to, because npipes 1.0.1's sender can only create it (it fails with error 231 if the pipe exists).
    /// </summary>
    public static async ValueTask<(Stream Stream, PipeListener? Listener)> MeetAsync(string name, NPipesOptions options, bool receiver, CancellationToken cancellationToken)
    {
        var listen = new ListenOptions(options.CurrentUserOnly, options.PipeBufferSize, MaxInstances: 1);
        return OperatingSystem.IsWindows()
            ? await MeetWindowsAsync(name, options, listen, receiver, cancellationToken).ConfigureAwait(false)
            : await MeetUnixAsync(name, options, listen, cancellationToken).ConfigureAwait(false);
    }

    [UnsupportedOSPlatform("windows")]
    private static async ValueTask<(Stream, PipeListener?)> MeetUnixAsync(string name, NPipesOptions options, ListenOptions listen, CancellationToken cancellationToken)
    {
        string path = PipeName.GetPath(name);
        var backoff = TimeSpan.FromMilliseconds(1);
        long refusedSince = 0; // when the file first refused us; it must keep refusing before we call it stale
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Socket socket = UnixSockets.CreateSocket();
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                return (UnixPipeConnector.Verify(socket, options.CurrentUserOnly, name), null);
            }
            catch (SocketException e) when (UnixPipeConnector.IsNoServer(e))
            {
                socket.Dispose();
                // A file that keeps refusing was left by a dead server: reclaim it. A live server refuses only for the
                // moment between its bind and its listen, so one refusal is not enough.
                if (UnixPipeConnector.IsRefused(e))
                {
                    long now = Environment.TickCount64;
                    refusedSince = refusedSince == 0 ? now : refusedSince;
                    if (now - refusedSince < UnixSockets.StaleAfter.TotalMilliseconds || UnixSockets.IsListening(path))
                    {
                        await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    TryDelete(path);
                }
                refusedSince = 0;
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            UnixPipeListener? listener = UnixPipeListener.TryCreateFresh(name, listen);
            if (listener is not null)
            {
                try
                {
                    return (await listener.AcceptAsync(cancellationToken).ConfigureAwait(false), listener);
                }
                catch
                {
                    listener.Dispose();
                    throw;
                }
            }
            // Another side created the pipe between our connect and our bind: connect to it on the next turn.
            await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            backoff = backoff < TimeSpan.FromMilliseconds(20) ? backoff * 2 : backoff;
        }
    }

    [SupportedOSPlatform("windows")]
    private static async ValueTask<(Stream, PipeListener?)> MeetWindowsAsync(string name, NPipesOptions options, ListenOptions listen, bool receiver, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            WindowsPipeListener listener;
            try
            {
                if (receiver)
                {
                    throw new PipeNameInUseException(name); // a receiver only ever connects: see MeetAsync
                }
                listener = WindowsPipeListener.Listen(name, listen);
            }
            catch (PipeNameInUseException)
            {
                // The other side created it first (npipes sees error 231 here): connect, in short slices so that if
                // that server goes away we can become the server ourselves.
                try
                {
                    return (await WindowsPipeConnector.ConnectAsync(name, options.CurrentUserOnly, Deadline.After(TimeSpan.FromMilliseconds(100)), cancellationToken).ConfigureAwait(false), null);
                }
                catch (TimeoutException)
                {
                    continue;
                }
            }
            try
            {
                return (await listener.AcceptAsync(cancellationToken).ConfigureAwait(false), listener);
            }
            catch
            {
                listener.Dispose();
                throw;
            }
        }
    }

    [UnsupportedOSPlatform("windows")]
    private static void TryDelete(string path)
    {
        try
        {
            UnixSockets.DeleteStaleSocket(path);
        }
        catch (IOException e) when (e is not NPipesException)
        {
            // Someone else removed or replaced it: the next connect attempt tells.
        }
        catch (UnauthorizedAccessException)
        {
            // Not ours to delete (another user's stale file): binding will fail and say the name is in use.
        }
    }
}
