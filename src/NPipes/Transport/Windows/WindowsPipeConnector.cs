using System.IO.Pipes;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// Windows client: <see cref="NamedPipeClientStream"/>, whose wait on Windows is WaitNamedPipe-based and honours the
/// timeout; then, before a byte is written or read, the server check (docs/access.md §4) on the server PROCESS's user
/// (GetNamedPipeServerProcessId, OpenProcessToken, TokenUser), not the pipe's owner (Administrators for any elevated
/// server). Where the server's token cannot be read (a service's, from an ordinary account), the pipe's owner stands
/// in: only its creator can have set it, to its own user or a group it may own objects as.
/// </summary>
[SupportedOSPlatform("windows")]
internal static class WindowsPipeConnector
{
    /// <exception cref="ArgumentException">A named account of <paramref name="trusted"/> does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The server runs as a user <paramref name="trusted"/> does not admit.</exception>
    public static async ValueTask<Stream> ConnectAsync(string name, PipeAccess trusted, Deadline deadline, CancellationToken cancellationToken)
    {
        WindowsAccessRule rule = WindowsAccessRule.Resolve(trusted);
        var client = new NamedPipeClientStream(".", name, PipeDirection.InOut, PipeOptions.Asynchronous);
        try
        {
            int timeoutMs = deadline.IsInfinite ? Timeout.Infinite : (int)Math.Min(int.MaxValue, deadline.Remaining.TotalMilliseconds);
            await client.ConnectAsync(timeoutMs, cancellationToken).ConfigureAwait(false);
            (PeerIdentity server, string[] groups) = WindowsAccessRule.ReadPeer(client.SafePipeHandle, peerIsServer: true);
            if (!trusted.AllowsEveryone)
            {
                string? owner = server.Sid is null ? WindowsSecurity.OwnerOf(client.SafePipeHandle) : null;
                bool admitted = server.Sid is { } sid ? rule.Admits(sid, groups) : owner is not null && rule.Admits(owner, [owner]);
                if (!admitted)
                {
                    throw rule.Refusal(name, server, owner);
                }
            }
            return new WindowsPipeStream(client, server);
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
