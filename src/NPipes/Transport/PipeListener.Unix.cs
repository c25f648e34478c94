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

    public static UnixPipeListener Listen(string name, ListenOptions options) =>
        Bind(name, options, reclaimStale: true) ?? throw new PipeNameInUseException(name);

    /// <summary>Creates a listener on a path already known to be free, or returns null (no reclaiming): used by rendezvous.</summary>
    public static UnixPipeListener? TryCreateFresh(string name, ListenOptions options) => Bind(name, options, reclaimStale: false);

    /// <summary>Binds and listens; null when the path is taken (and, with <paramref name="reclaimStale"/>, not stale).</summary>
    private static UnixPipeListener? Bind(string name, ListenOptions options, bool reclaimStale)
    {
        string path = PipeName.GetPath(name);
        Socket socket = UnixSockets.CreateSocket();
        try
        {
            // The file exists: reclaim it only when nothing listens on it (a server that died without cleaning up).
            bool bound = UnixSockets.TryBind(socket, path)
                || (reclaimStale && UnixSockets.IsStale(path) && DeleteThenBind(socket, path));
            if (!bound)
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

    private static bool DeleteThenBind(Socket socket, string path)
    {
        UnixSockets.DeleteStaleSocket(path);
        return UnixSockets.TryBind(socket, path);
    }

    public override async ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Socket client = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            if (!_currentUserOnly || UnixSockets.PeerIsCurrentUser(client))
            {
                return new UnixSocketStream(client);
            }
            // Another user got through (a permissive umask let them connect before the mode was set): drop them.
            if (AccessRefused is { } refused)
            {
                (int pid, uint uid) = UnixSockets.GetPeerCredentials(client);
                refused(pid, uid);
            }
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
