using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace NPipes.Transport;

/// <summary>
/// Doc §4: how a server claims a pipe name. Look at the path (lstat); a socket there is live (the name is in use),
/// stale and ours (removed by the one stale rule), or someone else's; anything else is an error at once. A free name is
/// published atomically: the socket is bound in a private directory, given its mode (0600 by default; docs/access.md §3) and listening, and only then
/// hard-linked to the path, which fails if anything appeared there meanwhile and never replaces it.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixNameClaim
{
    private const int Backlog = 512;

    /// <summary>How many times a server looks again when the path keeps changing under it before it gives up.</summary>
    private const int MaxTurns = 64;

    /// <summary>Claims <paramref name="name"/> for a server (<see cref="PipeListener.Create"/>).</summary>
    /// <exception cref="PipeNameInUseException">A live server, or a file that may not be reclaimed, holds the name.</exception>
    /// <exception cref="PipePathOccupiedException">Something that is not a socket is at the path.</exception>
    public static UnixPipeListener Listen(string name, ListenOptions options)
    {
        string path = PipeNames.GetPath(name);
        UnixAccessRule access = UnixAccessRule.Resolve(options.Access); // an unknown name fails before the name is touched
        for (int turn = 0; turn < MaxTurns; turn++)
        {
            // Synchronous API: the only wait inside is the stale rule's 50 ms, on the rare stale path.
            UnixPipeListener? listener = TryClaimAsync(name, path, access, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (listener is not null)
            {
                return listener;
            }
        }
        throw PipeNameInUseException.Because(name, $"'{path}' kept appearing and disappearing while NPipes tried to claim it.");
    }

    /// <summary>
    /// One turn of claiming: the listener, or null when the path changed under us (free it was, taken it is now, or a
    /// stale file was just removed): look again.
    /// </summary>
    private static async ValueTask<UnixPipeListener?> TryClaimAsync(string name, string path, UnixAccessRule access, CancellationToken cancellationToken)
    {
        PathStatus seen = PathStatus.Of(path);
        if (seen.IsMissing)
        {
            return Publish(name, path, access);
        }
        if (!seen.MaybeSocket)
        {
            throw seen.Occupied(path);
        }
        StaleVerdict verdict = await StaleSocketRule.RemoveIfStaleAsync(path, seen, cancellationToken).ConfigureAwait(false);
        return verdict is StaleVerdict.Removed or StaleVerdict.Changed
            ? null
            : throw StaleSocketRule.InUse(name, path, verdict, seen);
    }

    /// <summary>
    /// Step 2: publishes a listening socket at <paramref name="path"/>, last seen free; null if something appeared
    /// there first (EEXIST: for a rendezvous, the other side just claimed it).
    /// </summary>
    public static UnixPipeListener? Publish(string name, string path, UnixAccessRule access)
    {
        string directory = Directory.CreateTempSubdirectory(".npipes-").FullName; // mkdtemp: mode 0700, ours alone
        string temporary = Path.Combine(directory, "s");
        try
        {
            // A private path longer than sun_path (a very long TMPDIR with a very short name) cannot be bound: bind at the path.
            if (Encoding.UTF8.GetByteCount(temporary) <= PipeNames.MaxUnixSocketPathBytes)
            {
                Socket socket = Bind(temporary, access);
                try
                {
                    if (UnixNative.link(temporary, path) == 0)
                    {
                        return new UnixPipeListener(name, socket, path, PathStatus.Of(temporary).Id, access);
                    }
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == UnixNative.EEXIST)
                    {
                        socket.Dispose();
                        return null;
                    }
                    if (!UnixNative.RefusesHardLinks(errno))
                    {
                        throw new IOException($"Cannot create the pipe's socket at '{path}': {UnixNative.Describe(errno)}", errno);
                    }
                    socket.Dispose();
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }
        }
        finally
        {
            File.Delete(temporary);
            Directory.Delete(directory);
        }
        return BindAtPath(name, path, access);
    }

    /// <summary>
    /// Doc §4.3, where hard links are refused: bind at the path itself, set its mode and listen at once. Until the mode
    /// is set the file carries the umask's mode; the peer rule on accept still keeps other users out.
    /// </summary>
    private static UnixPipeListener? BindAtPath(string name, string path, UnixAccessRule access)
    {
        Socket socket;
        try
        {
            socket = Bind(path, access);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return null;
        }
        return new UnixPipeListener(name, socket, path, PathStatus.Of(path).Id, access);
    }

    /// <summary>A socket bound at <paramref name="path"/>, with its file's mode (and group) set by the access rule, listening.</summary>
    private static Socket Bind(string path, UnixAccessRule access)
    {
        Socket socket = UnixSockets.CreateSocket();
        try
        {
            socket.Bind(new UnownedUnixEndPoint(path));
            access.Apply(path);
            socket.Listen(Backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
