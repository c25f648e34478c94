using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace NPipes.Transport;

/// <summary>
/// User and group names to ids and back, through libc's reentrant lookups (so NSS, LDAP and the like are honoured), and
/// chown of a socket file to a group. <c>struct passwd</c> and <c>struct group</c> begin with two pointers (name,
/// password) followed by the 32-bit id on Linux, macOS and the BSDs; nothing past that is read.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static unsafe class UnixAccounts
{
    private const int ERANGE = 34;
    private const int MaxBuffer = 1 << 20;

    /// <summary>The uid of a user entry: a decimal id as is, else the account name's uid; null for a SID (another platform's entry).</summary>
    /// <exception cref="ArgumentException">No such user.</exception>
    public static uint? UserId(string entry) => Resolve(entry, group: false);

    /// <summary>The gid of a group entry: a decimal id as is, else the group name's gid; null for a SID.</summary>
    /// <exception cref="ArgumentException">No such group.</exception>
    public static uint? GroupId(string entry) => Resolve(entry, group: true);

    /// <summary>The account name of <paramref name="uid"/>, or null when there is none or the lookup fails.</summary>
    public static string? UserName(uint uid)
    {
        byte* entry = stackalloc byte[256];
        for (int size = 4096; size <= MaxBuffer; size *= 4)
        {
            byte[] buffer = new byte[size];
            fixed (byte* b = buffer)
            {
                IntPtr result;
                int error = getpwuid_r(uid, entry, b, (UIntPtr)size, &result);
                if (error == ERANGE)
                {
                    continue;
                }
                return error == 0 && result != IntPtr.Zero ? Utf8(*(IntPtr*)entry) : null;
            }
        }
        return null;
    }

    /// <summary>chown(path, -1, gid): the socket file's group. False when refused (not root and not a member of it).</summary>
    public static bool SetGroup(string path, uint gid)
    {
        fixed (byte* p = Utf8Z(path))
        {
            return chown(p, uint.MaxValue, gid) == 0;
        }
    }

    private static uint? Resolve(string entry, bool group)
    {
        if (entry.StartsWith("S-1-", StringComparison.OrdinalIgnoreCase))
        {
            return null; // a Windows SID: admits nobody here
        }
        if (uint.TryParse(entry, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
        {
            return id;
        }
        byte* record = stackalloc byte[256];
        for (int size = 4096; size <= MaxBuffer; size *= 4)
        {
            byte[] buffer = new byte[size];
            fixed (byte* name = Utf8Z(entry))
            fixed (byte* b = buffer)
            {
                IntPtr result;
                int error = group ? getgrnam_r(name, record, b, (UIntPtr)size, &result) : getpwnam_r(name, record, b, (UIntPtr)size, &result);
                if (error == ERANGE)
                {
                    continue;
                }
                if (error == 0 && result != IntPtr.Zero)
                {
                    return *(uint*)(record + 2 * IntPtr.Size);
                }
                break;
            }
        }
        throw new ArgumentException($"There is no {(group ? "group" : "user")} named '{entry}' on this system.", group ? "group" : "user");
    }

    private static byte[] Utf8Z(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
        return bytes;
    }

    private static string? Utf8(IntPtr text)
    {
        if (text == IntPtr.Zero)
        {
            return null;
        }
        byte* p = (byte*)text;
        int length = 0;
        while (p[length] != 0)
        {
            length++;
        }
        return Encoding.UTF8.GetString(p, length);
    }

    [DllImport("libc", EntryPoint = "getpwnam_r")]
    private static extern int getpwnam_r(byte* name, byte* entry, byte* buffer, UIntPtr size, IntPtr* result);

    [DllImport("libc", EntryPoint = "getgrnam_r")]
    private static extern int getgrnam_r(byte* name, byte* entry, byte* buffer, UIntPtr size, IntPtr* result);

    [DllImport("libc", EntryPoint = "getpwuid_r")]
    private static extern int getpwuid_r(uint uid, byte* entry, byte* buffer, UIntPtr size, IntPtr* result);

    [DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    private static extern int chown(byte* path, uint owner, uint group);
}
