using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// "Either side first" on Windows, in npipes' own order (create, and on "busy" connect), so npipes 1.0.1 peers meet
/// NPipes the way they meet each other. A receiver never creates the pipe but waits for the sender to, because npipes
/// 1.0.1's sender can only create it (it fails with error 231 if the pipe exists).
/// </summary>
[SupportedOSPlatform("windows")]
internal static class WindowsRendezvous
{
    public static async ValueTask<(Stream Stream, PipeListener? Listener)> MeetAsync(string name, ListenOptions options, bool receiver, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            WindowsPipeListener listener;
            try
            {
                if (receiver)
                {
                    throw new PipeNameInUseException(name); // a receiver only ever connects: see the summary
                }
                listener = WindowsPipeListener.Listen(name, options);
            }
            catch (PipeNameInUseException)
            {
                // The other side created it first (npipes sees error 231 here): connect, in short slices so that if
                // that server goes away we can become the server ourselves.
                try
                {
                    return (await WindowsPipeConnector.ConnectAsync(name, options.TrustedServers, Deadline.After(TimeSpan.FromMilliseconds(100)), cancellationToken).ConfigureAwait(false), null);
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
}
