using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Unix server: a listening AF_UNIX stream socket at .NET's path for the name, so .NET pipe clients and plain
/// socket clients both connect. A socket file left by a dead server is reclaimed; a live server's name is never taken.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class UnixPipeListener : PipeListener
{
    private readonly Socket _socket;
    private readonly string _path;
    private readonly bool _currentUserOnly;

    private UnixPipeListener(string name, Socket socket, string path, bool currentUserOnly) : base(name)
    {
        _socket = socket;
        _path = path;
        _currentUserOnly = currentUserOnly;
    }

    public static UnixPipeListener Listen(string name, ListenOptions options)
    {
        string path = PipeName.GetPath(name);
        Socket socket = UnixSockets.CreateSocket();
        try
        {
            if (!UnixSockets.TryBind(socket, path))
            {
                // The file exists. Reclaim it only when nothing listens on it (a server that died without cleaning up).
                if (!UnixSockets.IsStale(path))
                {
                    throw new PipeNameInUseException(name);
                }
                UnixSockets.DeleteStaleSocket(path);
                if (!UnixSockets.TryBind(socket, path))
                {
                    throw new PipeNameInUseException(name);
                }
            }
            socket.Listen(512);
            UnixSockets.SetAccess(path, options.CurrentUserOnly);
            return new UnixPipeListener(name, socket, path, options.CurrentUserOnly);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Creates a listener on a path already known to be free, or fails (no reclaiming): used by rendezvous.</summary>
    public static UnixPipeListener? TryCreateFresh(string name, ListenOptions options)
    {
        string path = PipeName.GetPath(name);
        Socket socket = UnixSockets.CreateSocket();
        try
        {
            if (!UnixSockets.TryBind(socket, path))
            {
                socket.Dispose();
                return null;
            }
            // Listen before anything else, so the file refuses connections for as short a time as possible.
            socket.Listen(512);
            UnixSockets.SetAccess(path, options.CurrentUserOnly);
            return new UnixPipeListener(name, socket, path, options.CurrentUserOnly);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override async ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Socket client = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            if (!_currentUserOnly || UnixSockets.PeerIsCurrentUser(client))
            {
                return new NetworkStream(client, ownsSocket: true);
            }
            // Another user got through (a permissive umask let them connect before the mode was set): drop them.
            client.Dispose();
        }
    }

    public override void Dispose()
    {
        _socket.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // Already gone or replaced: nothing of ours to clean up.
        }
    }
}
