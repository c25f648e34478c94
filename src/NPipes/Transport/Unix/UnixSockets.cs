using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>What a liveness probe found at a socket path (doc §5).</summary>
internal enum ProbeResult
{
    /// <summary>It accepted (or its backlog is full): a server is there.</summary>
    Live,
    /// <summary>ECONNREFUSED: nobody listens on it (or it is not a socket at all).</summary>
    Refused,
    /// <summary>Nothing at the path any more.</summary>
    Missing,
    /// <summary>EACCES/EPERM: another user's socket we may not connect to.</summary>
    Denied,
}

/// <summary>AF_UNIX helpers: sockets, liveness probes, file mode, peer credentials.</summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixSockets
{
    public static Socket CreateSocket() => new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    /// <summary>This process's effective user id.</summary>
    public static uint CurrentUid => UnixNative.geteuid();

    /// <summary>
    /// One liveness probe: a non-blocking connect (a blocking one would wait on a full backlog), closed at once before
    /// a byte is written or read.
    /// </summary>
    public static ProbeResult Probe(string path)
    {
        using Socket probe = CreateSocket();
        probe.Blocking = false;
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return ProbeResult.Live;
        }
        catch (SocketException e)
        {
            return Classify(e) ?? throw new IOException($"Cannot probe '{path}': {e.Message}", e);
        }
    }

    /// <summary>What a failed connect means for liveness; null for an error outside the protocol.</summary>
    public static ProbeResult? Classify(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.WouldBlock or SocketError.TryAgain or SocketError.InProgress or SocketError.IOPending => ProbeResult.Live,
        SocketError.ConnectionRefused => ProbeResult.Refused,
        SocketError.AddressNotAvailable => ProbeResult.Missing, // ENOENT as .NET maps it
        SocketError.AccessDenied => ProbeResult.Denied,
        _ => e.NativeErrorCode switch
        {
            UnixNative.ENOENT or UnixNative.ENOTDIR => ProbeResult.Missing,
            UnixNative.EACCES or UnixNative.EPERM => ProbeResult.Denied,
            _ => null,
        },
    };

    /// <summary>Current-user-only: mode 0600. Opt-out: 0666, so any local user may connect.</summary>
    public static void SetAccess(string path, bool currentUserOnly) =>
        File.SetUnixFileMode(path, currentUserOnly
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);

    /// <summary>
    /// The effective user id of the peer of a connected AF_UNIX socket, from the kernel; null when it cannot be read
    /// (which the peer rule treats as a refusal).
    /// </summary>
    public static uint? PeerUid(Socket socket)
    {
        Span<byte> buffer = stackalloc byte[76];
        try
        {
            if (OperatingSystem.IsLinux())
            {
                // SO_PEERCRED: struct ucred { pid_t pid; uid_t uid; gid_t gid; }. SOL_SOCKET is 1 and SO_PEERCRED 17 on
                // every Linux architecture .NET runs on except ppc64le (21).
                int option = RuntimeInformation.ProcessArchitecture == Architecture.Ppc64le ? 21 : 17;
                return socket.GetRawSocketOption(1, option, buffer[..12]) >= 8 ? MemoryMarshal.Read<uint>(buffer[4..]) : null;
            }
            if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
            {
                // LOCAL_PEERCRED at SOL_LOCAL: struct xucred { u_int cr_version; uid_t cr_uid; ... }, version 0.
                int length = socket.GetRawSocketOption(0, 1, buffer);
                return length >= 8 && MemoryMarshal.Read<uint>(buffer) == 0 ? MemoryMarshal.Read<uint>(buffer[4..]) : null;
            }
            return null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>
    /// The process id of the peer of a connected AF_UNIX socket, for logs only (never for a decision); -1 where the
    /// system does not tell (only Linux's SO_PEERCRED is read) or it cannot be read.
    /// </summary>
    public static int PeerPid(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: the pid comes first (option numbers as in PeerUid).
            int option = RuntimeInformation.ProcessArchitecture == Architecture.Ppc64le ? 21 : 17;
            return socket.GetRawSocketOption(1, option, ucred) >= 4 ? MemoryMarshal.Read<int>(ucred) : -1;
        }
        catch (SocketException)
        {
            return -1;
        }
    }
}
