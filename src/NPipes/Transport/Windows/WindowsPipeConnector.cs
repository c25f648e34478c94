using System.IO.Pipes;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>Windows client: <see cref="NamedPipeClientStream"/>, whose wait on Windows is WaitNamedPipe-based and honours the timeout.</summary>
[SupportedOSPlatform("windows")]
internal static class WindowsPipeConnector
{
    public static async ValueTask<Stream> ConnectAsync(string name, bool currentUserOnly, Deadline deadline, CancellationToken cancellationToken)
    {
        // No PipeOptions.CurrentUserOnly on the client: .NET then demands that the pipe's OWNER be this user, which a pipe
        // made by npipes (or by any elevated process, whose default owner is Administrators) fails, so it would refuse
        // exactly the peers NPipes exists to reach. Who may connect is decided by the server's ACL, which
        // CurrentUserOnly restricts on NPipes servers. (On Unix the client does check the server's uid.)
        _ = currentUserOnly;
        var client = new NamedPipeClientStream(".", name, PipeDirection.InOut, PipeOptions.Asynchronous);
        try
        {
            int timeoutMs = deadline.IsInfinite ? Timeout.Infinite : (int)Math.Min(int.MaxValue, deadline.Remaining.TotalMilliseconds);
            await client.ConnectAsync(timeoutMs, cancellationToken).ConfigureAwait(false);
            return new WindowsPipeStream(client);
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
