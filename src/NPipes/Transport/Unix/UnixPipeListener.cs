using System.Net.Sockets;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Unix server: a listening AF_UNIX stream socket at .NET's path for the name (claimed by
/// <see cref="UnixNameClaim"/>), so .NET pipe clients and plain socket clients both connect. Every accepted peer
/// passes the peer rule before a byte moves (doc §6); on dispose the file is removed only if it is still the one this
/// listener published (doc §9).
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class UnixPipeListener : PipeListener
{
    private readonly Socket _socket;
    private readonly FileId? _id;
    private readonly UnixAccessRule _access;
    private readonly ExitRelease _exitRelease;
    private long _refusedPeers;
    private int _disposed;

    public UnixPipeListener(string name, Socket socket, string path, FileId? id, UnixAccessRule access) : base(name)
    {
        _socket = socket;
        Path = path;
        _id = id;
        _access = access;
        _exitRelease = new ExitRelease(this);
    }

    /// <summary>The socket file this listener published.</summary>
    public string Path { get; }

    /// <summary>Peers dropped by the access rule (a user it does not admit, or a user that could not be read).</summary>
    public long RefusedPeers => Interlocked.Read(ref _refusedPeers);

    public override async ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Socket client = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            PeerIdentity peer = UnixPeerCredentials.Read(client); // once per connection, before a byte moves
            if (_access.Admits(peer))
            {
                return UnixPeer.Stream(client, peer);
            }
            // Not admitted, yet it got through (the mode lets a group or everyone reach the file; an admin's chmod):
            // closed unread and unwritten.
            Interlocked.Increment(ref _refusedPeers);
            client.Dispose();
            AccessRefused?.Invoke(peer); // after the refusal is done: reporting cannot let the peer in
        }
    }

    /// <summary>Whether the path still holds the file this listener published (same device and inode).</summary>
    public bool OwnsPath()
    {
        PathStatus now = PathStatus.Of(Path);
        return _id is { } id ? now.Kind == PathKind.Socket && now.Id == id : now.MaybeSocket;
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _exitRelease.Dispose();
        _socket.Dispose();
#if !NET
        // The netstandard2.0 accept cannot be cancelled: one cancelled while pending may still take a client (Polyfills).
        _socket.ClosePendingAccept();
#endif
        ReleasePath();
    }

    /// <summary>Removes the socket file if it is still ours (doc §9); the socket itself is left as it is.</summary>
    public void ReleasePath()
    {
        try
        {
            Release();
        }
        catch (IOException)
        {
            // The path cannot be examined or removed any more: nothing of ours is provably there.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// Doc §9: after closing, unlink the path only if it is a socket with the device and inode we recorded. Where the
    /// system does not tell inodes (the portable fallback), only a file that is neither a link nor a directory and that
    /// no server answers on is removed: never a live successor's socket.
    /// </summary>
    private void Release()
    {
        PathStatus now = PathStatus.Of(Path);
        bool ours = _id is { } id
            ? now.Kind == PathKind.Socket && now.Id == id
            : now.Kind == PathKind.Unclassified && UnixSockets.Probe(Path) != ProbeResult.Live;
        if (ours)
        {
            File.Delete(Path);
        }
    }
}
