using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>AF_UNIX helpers: bind, liveness, access mode and peer credentials.</summary>
[UnsupportedOSPlatform("windows")]
internal static partial class UnixSockets
{
    private const int SolSocket = 1;      // Linux SOL_SOCKET
    private const int SoPeerCred = 17;    // Linux SO_PEERCRED: struct ucred { pid_t pid; uid_t uid; gid_t gid; }
    private const int SolLocal = 0;       // macOS SOL_LOCAL
    private const int LocalPeerCred = 1;  // macOS LOCAL_PEERCRED: struct xucred { u_int cr_version; uid_t cr_uid; ... }

    public static Socket CreateSocket() => new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    /// <summary>Binds; false when the path already exists.</summary>
    public static bool TryBind(Socket socket, string path)
    {
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether a server is listening on <paramref name="path"/>. On Linux this reads /proc/net/unix, so the live server
    /// sees nothing; elsewhere it makes (and drops) a connection.
    /// </summary>
    public static bool IsListening(string path)
    {
        if (OperatingSystem.IsLinux() && File.Exists("/proc/net/unix"))
        {
            const int AcceptConnections = 0x10000; // __SO_ACCEPTCON in the Flags column
            foreach (string line in File.ReadLines("/proc/net/unix"))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 8 && f[7] == path
                    && int.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int flags)
                    && (flags & AcceptConnections) != 0)
                {
                    return true;
                }
            }
            return false;
        }
        using Socket probe = CreateSocket();
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode != SocketError.ConnectionRefused;
        }
    }

    /// <summary>How long a socket file must refuse connections before it counts as left by a dead server. A live server
    /// binds before it listens, so a file can refuse for a moment while its owner is alive.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMilliseconds(10);

    /// <summary>Whether nobody listens on <paramref name="path"/>, now and still after <see cref="StaleAfter"/>.</summary>
    public static bool IsStale(string path)
    {
        if (IsListening(path))
        {
            return false;
        }
        Thread.Sleep(StaleAfter); // only on the rare stale path: a server between bind and listen gets its moment
        return !IsListening(path);
    }

    /// <summary>
    /// Deletes a socket file nobody listens on (left by a dead server). Anything that is not a socket (a regular file
    /// someone put there) is never deleted: that is an error naming the path.
    /// </summary>
    /// <exception cref="NPipesException">The path is not a socket.</exception>
    public static void DeleteStaleSocket(string path)
    {
        try
        {
            // Opening a socket file fails with ENXIO; anything that opens is not ours to delete.
            using (File.OpenHandle(path, FileMode.Open, FileAccess.Read))
            {
            }
        }
        catch (FileNotFoundException)
        {
            return;
        }
        catch (IOException)
        {
            File.Delete(path);
            return;
        }
        throw new NPipesException($"'{path}' exists and is not a socket; NPipes will not delete it. Remove it or choose another pipe name.");
    }

    /// <summary>Current-user-only: mode 0600. Opt-out: 0666, so any local user may connect.</summary>
    public static void SetAccess(string path, bool currentUserOnly) =>
        File.SetUnixFileMode(path, currentUserOnly
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);

    /// <summary>Whether the process at the other end of <paramref name="socket"/> runs as this process's effective user.</summary>
    public static bool PeerIsCurrentUser(Socket socket) => GetPeerUid(socket) == geteuid();

    /// <summary>The peer's process id (Linux; -1 elsewhere) and effective user id, for logs.</summary>
    public static (int Pid, uint Uid) GetPeerCredentials(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        if (!OperatingSystem.IsLinux())
        {
            return (-1, GetPeerUid(socket));
        }
        socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        return (MemoryMarshal.Read<int>(ucred), MemoryMarshal.Read<uint>(ucred[4..]));
    }

    /// <summary>The effective user id of the peer of a connected AF_UNIX socket.</summary>
    public static uint GetPeerUid(Socket socket)
    {
        Span<byte> buffer = stackalloc byte[76];
        if (OperatingSystem.IsLinux())
        {
            socket.GetRawSocketOption(SolSocket, SoPeerCred, buffer[..12]);
        }
        else
        {
            socket.GetRawSocketOption(SolLocal, LocalPeerCred, buffer);
        }
        // uid sits at offset 4 in both struct ucred (Linux) and struct xucred (macOS).
        return MemoryMarshal.Read<uint>(buffer[4..]);
    }

    /// <summary>This process's effective user id.</summary>
    public static uint CurrentUid => geteuid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint geteuid();
}
