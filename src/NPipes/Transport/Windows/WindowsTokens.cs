using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace NPipes.Transport;

/// <summary>
/// Who a Windows process is (docs/access.md §5): the user and enabled groups of its token, read through OpenProcess
/// (PROCESS_QUERY_LIMITED_INFORMATION) and OpenProcessToken (TOKEN_QUERY); the peer of a pipe through
/// GetNamedPipeClientProcessId / GetNamedPipeServerProcessId; and account names to SIDs and back.
/// </summary>
[SupportedOSPlatform("windows")]
internal static class WindowsTokens
{
    private const uint TokenQuery = 0x8;
    private const int TokenUserClass = 1, TokenGroupsClass = 2;
    private const uint SeGroupEnabled = 0x4, SeGroupUseForDenyOnly = 0x10;

    /// <summary>The SID of the user this process runs as.</summary>
    public static string CurrentUserSid() =>
        ReadToken(GetCurrentProcess(), ownHandle: false)?.User ?? throw new Win32Exception(Marshal.GetLastWin32Error(), "Cannot read this process's user.");

    /// <summary>The user SID and enabled (not deny-only) group SIDs of process <paramref name="pid"/>; null when its token cannot be read.</summary>
    public static (string User, string[] Groups)? OfProcess(int pid)
    {
        const uint QueryLimited = 0x1000;
        IntPtr process = OpenProcess(QueryLimited, false, (uint)pid);
        return process == IntPtr.Zero ? null : ReadToken(process, ownHandle: true);
    }

    /// <summary>The pid of the process at the other end of a connected pipe; -1 when it cannot be read.</summary>
    public static int PeerProcessId(SafeHandle pipe, bool peerIsServer)
    {
        bool ok = peerIsServer ? GetNamedPipeServerProcessId(pipe, out uint pid) : GetNamedPipeClientProcessId(pipe, out pid);
        return ok ? (int)pid : -1;
    }

    /// <summary>The SID of an account name (<c>alice</c>, <c>DOMAIN\alice</c>, <c>Administrators</c>); a SID string as is (validated).</summary>
    /// <exception cref="ArgumentException">No such account, or not a valid SID.</exception>
    public static string SidOf(string entry, string parameter)
    {
        if (entry.StartsWith("S-1-", StringComparison.OrdinalIgnoreCase))
        {
            if (!ConvertStringSidToSidW(entry, out IntPtr sid))
            {
                throw new ArgumentException($"'{entry}' is not a valid SID.", parameter);
            }
            try
            {
                return SidString(sid) ?? entry;
            }
            finally
            {
                LocalFree(sid);
            }
        }
        byte[] buffer = new byte[68]; // SECURITY_MAX_SID_SIZE
        int size = buffer.Length, domainLength = 256;
        var domain = new StringBuilder(domainLength);
        if (!LookupAccountNameW(null, entry, buffer, ref size, domain, ref domainLength, out _))
        {
            throw new ArgumentException($"There is no account named '{entry}' on this system ({new Win32Exception(Marshal.GetLastWin32Error()).Message}).", parameter);
        }
        GCHandle pinned = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        try
        {
            return SidString(pinned.AddrOfPinnedObject()) ?? throw new ArgumentException($"Cannot format the SID of '{entry}'.", parameter);
        }
        finally
        {
            pinned.Free();
        }
    }

    /// <summary><c>DOMAIN\user</c> of a SID, or null when it cannot be looked up.</summary>
    public static string? NameOf(string sidText)
    {
        if (!ConvertStringSidToSidW(sidText, out IntPtr sid))
        {
            return null;
        }
        try
        {
            int nameLength = 256, domainLength = 256;
            var name = new StringBuilder(nameLength);
            var domain = new StringBuilder(domainLength);
            if (!LookupAccountSidW(null, sid, name, ref nameLength, domain, ref domainLength, out _))
            {
                return null;
            }
            return domain.Length > 0 ? domain + "\\" + name : name.ToString();
        }
        finally
        {
            LocalFree(sid);
        }
    }

    /// <summary>A SID as text, or null.</summary>
    public static string? SidString(IntPtr sid)
    {
        if (sid == IntPtr.Zero || !ConvertSidToStringSidW(sid, out IntPtr text))
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUni(text);
        }
        finally
        {
            LocalFree(text);
        }
    }

    private static (string User, string[] Groups)? ReadToken(IntPtr process, bool ownHandle)
    {
        try
        {
            if (!OpenProcessToken(process, TokenQuery, out IntPtr token))
            {
                return null;
            }
            try
            {
                string? user = Query(token, TokenUserClass, static b => SidString(Marshal.ReadIntPtr(b)));
                string[]? groups = Query(token, TokenGroupsClass, EnabledGroups);
                return user is null ? null : (user, groups ?? []);
            }
            finally
            {
                CloseHandle(token);
            }
        }
        finally
        {
            if (ownHandle)
            {
                CloseHandle(process);
            }
        }
    }

    private static T? Query<T>(IntPtr token, int informationClass, Func<IntPtr, T?> read) where T : class
    {
        GetTokenInformation(token, informationClass, IntPtr.Zero, 0, out int needed);
        if (needed <= 0)
        {
            return null;
        }
        IntPtr buffer = Marshal.AllocHGlobal(needed);
        try
        {
            return GetTokenInformation(token, informationClass, buffer, needed, out _) ? read(buffer) : null;
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }

    /// <summary>TOKEN_GROUPS { DWORD GroupCount; SID_AND_ATTRIBUTES Groups[]; }: the enabled groups that are not deny-only.</summary>
    private static string[] EnabledGroups(IntPtr groups)
    {
        int count = Marshal.ReadInt32(groups);
        var sids = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            IntPtr entry = groups + IntPtr.Size + i * 2 * IntPtr.Size; // { PSID Sid; DWORD Attributes; } padded to two pointers
            uint attributes = (uint)Marshal.ReadInt32(entry, IntPtr.Size);
            if ((attributes & SeGroupEnabled) != 0 && (attributes & SeGroupUseForDenyOnly) == 0 && SidString(Marshal.ReadIntPtr(entry)) is { } sid)
            {
                sids.Add(sid);
            }
        }
        return [.. sids];
    }

    [DllImport("kernel32", SetLastError = true)]
    private static extern IntPtr OpenProcess(uint access, bool inherit, uint pid);

    [DllImport("kernel32", SetLastError = true)]
    private static extern bool GetNamedPipeClientProcessId(SafeHandle pipe, out uint pid);

    [DllImport("kernel32", SetLastError = true)]
    private static extern bool GetNamedPipeServerProcessId(SafeHandle pipe, out uint pid);

    [DllImport("advapi32", SetLastError = true)]
    private static extern bool OpenProcessToken(IntPtr process, uint access, out IntPtr token);

    [DllImport("advapi32", SetLastError = true)]
    private static extern bool GetTokenInformation(IntPtr token, int informationClass, IntPtr information, int length, out int returned);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool ConvertSidToStringSidW(IntPtr sid, out IntPtr text);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool ConvertStringSidToSidW(string text, out IntPtr sid);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool LookupAccountNameW(string? system, string name, byte[] sid, ref int sidSize, StringBuilder domain, ref int domainLength, out int use);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool LookupAccountSidW(string? system, IntPtr sid, StringBuilder name, ref int nameLength, StringBuilder domain, ref int domainLength, out int use);

    [DllImport("kernel32")]
    private static extern IntPtr GetCurrentProcess();

    [DllImport("kernel32", SetLastError = true)]
    private static extern bool CloseHandle(IntPtr handle);

    [DllImport("kernel32")]
    internal static extern IntPtr LocalFree(IntPtr memory);
}
