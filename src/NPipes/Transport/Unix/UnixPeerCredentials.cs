using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The peer of a connected AF_UNIX socket as the kernel reports it (docs/access.md §5), read once per connection:
/// Linux <c>SO_PEERCRED</c> (pid, uid, gid) and <c>SO_PEERGROUPS</c> (supplementary groups, Linux 4.13+); macOS/BSD
/// <c>LOCAL_PEERCRED</c> (uid and up to 16 groups; no pid). Whatever cannot be read is left unknown, which the
/// access rule treats as a refusal.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixPeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerGroups = 59;

    /// <summary>SO_PEERCRED is 17 on every Linux architecture .NET runs on except ppc64le (21).</summary>
    private static int SoPeerCred => RuntimeInformation.ProcessArchitecture == Architecture.Ppc64le ? 21 : 17;

    /// <summary>The peer of <paramref name="socket"/>; its user name is looked up only when asked for.</summary>
    public static PeerIdentity Read(Socket socket)
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
                Span<byte> ucred = stackalloc byte[12];
                if (socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) < 12)
                {
                    return PeerIdentity.Unknown;
                }
                int pid = MemoryMarshal.Read<int>(ucred);
                uint uid = MemoryMarshal.Read<uint>(ucred[4..]);
                uint gid = MemoryMarshal.Read<uint>(ucred[8..]);
                return Identity(pid, uid, LinuxGroups(socket, gid));
            }
            if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
            {
                // LOCAL_PEERCRED at SOL_LOCAL (0): struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; }
                Span<byte> xucred = stackalloc byte[76];
                int length = socket.GetRawSocketOption(0, 1, xucred);
                if (length < 8 || MemoryMarshal.Read<uint>(xucred) != 0)
                {
                    return PeerIdentity.Unknown;
                }
                int count = Math.Min(16, Math.Max(0, (int)MemoryMarshal.Read<short>(xucred[8..])));
                var groups = new long[Math.Min(count, Math.Max(0, (length - 12) / 4))];
                for (int i = 0; i < groups.Length; i++)
                {
                    groups[i] = MemoryMarshal.Read<uint>(xucred[(12 + 4 * i)..]);
                }
                return Identity(-1, MemoryMarshal.Read<uint>(xucred[4..]), groups);
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        return PeerIdentity.Unknown;
    }

    private static PeerIdentity Identity(int pid, uint uid, long[] groups) =>
        new(pid, uid, null, groups, static peer => peer.UserId is long id ? UnixAccounts.UserName((uint)id) : null);

    /// <summary>The effective gid, then SO_PEERGROUPS' supplementary groups (none where the kernel does not have it).</summary>
    private static long[] LinuxGroups(Socket socket, uint gid)
    {
        // Most accounts have a few groups; NGROUPS_MAX is 65536. ERANGE (buffer too small) is a SocketException: grow.
        for (int capacity = 64; capacity <= 65536; capacity *= 32)
        {
            byte[] buffer = new byte[capacity * 4];
            int length;
            try
            {
                length = socket.GetRawSocketOption(SolSocket, SoPeerGroups, buffer);
            }
            catch (SocketException)
            {
                continue; // ERANGE: more groups than fit (or ENOPROTOOPT, a kernel before 4.13: then only the gid is known)
            }
            var groups = new List<long>(length / 4 + 1) { gid };
            for (int offset = 0; offset + 4 <= length; offset += 4)
            {
                uint g = MemoryMarshal.Read<uint>(buffer.AsSpan(offset));
                if (g != gid)
                {
                    groups.Add(g);
                }
            }
            return [.. groups];
        }
        return [gid];
    }
}
