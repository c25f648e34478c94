using System.Net.Sockets;

namespace NPipes.Tests.Facade;

/// <summary>
/// A raw AF_UNIX peer at a pipe name that does as much of the protocol as a test asks and then stalls: it never reads,
/// never writes more and never closes until disposed. For proving that a timeout bounds a whole operation.
/// </summary>
internal sealed class StallingPeer : IDisposable
{
    private readonly Socket? _listener;
    private readonly string? _path;
    private readonly List<Socket> _connections = [];

    private StallingPeer(Socket? listener, string? path)
    {
        _listener = listener;
        _path = path;
    }

    /// <summary>A server listening at the name's path (as a waiting npipes peer would be).</summary>
    public static StallingPeer Listen(string name)
    {
        string path = PipeNames.GetPath(name);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(8);
        return new StallingPeer(listener, path);
    }

    /// <summary>No server of its own: <see cref="ConnectAsync"/> joins the one at the name.</summary>
    public static StallingPeer Client() => new(null, null);

    /// <summary>Accepts one connection and writes <paramref name="bytes"/> on it (then stalls).</summary>
    public async Task<Socket> AcceptAndSendAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        Socket connection = await _listener!.AcceptAsync(cancellationToken);
        Keep(connection);
        await connection.SendAsync(bytes, cancellationToken);
        return connection;
    }

    /// <summary>Connects to the server at the name and writes <paramref name="bytes"/> (then stalls).</summary>
    public async Task ConnectAndSendAsync(string name, byte[] bytes, CancellationToken cancellationToken)
    {
        var connection = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Keep(connection);
        await connection.ConnectAsync(new UnixDomainSocketEndPoint(PipeNames.GetPath(name)), cancellationToken);
        await connection.SendAsync(bytes, cancellationToken);
    }

    /// <summary>The first bytes of a frame announcing a 100-byte payload: its header only.</summary>
    public static byte[] HeaderOnly()
    {
        byte[] header = new byte[FrameCodec.HeaderLength];
        FrameCodec.WriteHeader(header, 100, FrameOptions.Default.ByteOrder);
        return header;
    }

    private void Keep(Socket connection)
    {
        lock (_connections)
        {
            _connections.Add(connection);
        }
    }

    public void Dispose()
    {
        lock (_connections)
        {
            _connections.ForEach(c => c.Dispose());
        }
        _listener?.Dispose();
        if (_path is not null)
        {
            File.Delete(_path);
        }
    }
}
