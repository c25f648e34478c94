using System.IO.Pipes;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>Windows client: <see cref="NamedPipeClientStream"/>, whose wait on Windows is WaitNamedPipe-based and honours the timeout.</summary>
[SupportedOSPlatform("windows")]
internal static class WindowsPipeConnector
{
    public static async ValueTask<Stream> ConnectAsync(string name, bool currentUserOnly, Deadline deadline, CancellationToken cancellationToken)
    {
        var client = new NamedPipeClientStream(".", name, PipeDirection.InOut,
            PipeOptions.Asynchronous | (currentUserOnly ? PipeOptions.CurrentUserOnly : PipeOptions.None));
        try
        {
            int timeoutMs = deadline.IsInfinite ? Timeout.Infinite : (int)Math.Min(int.MaxValue, deadline.Remaining.TotalMilliseconds);
            await client.ConnectAsync(timeoutMs, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch (TimeoutException e)
        {
            client.Dispose();
            throw new TimeoutException(deadline.Expired($"Connecting to pipe '{name}'").Message, e);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }
}
