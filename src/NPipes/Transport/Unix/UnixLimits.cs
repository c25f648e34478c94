using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>The process's open-file limit (<c>getrlimit(RLIMIT_NOFILE)</c>), which bounds how many connections a server can hold.</summary>
[UnsupportedOSPlatform("windows")]
internal static unsafe partial class UnixLimits
{
    /// <summary>The soft limit on open file descriptors; null if it cannot be read; <see cref="long.MaxValue"/> for unlimited.</summary>
    public static long? OpenFilesSoftLimit()
    {
        // RLIMIT_NOFILE is 7 on Linux, 8 on macOS and the BSDs; struct rlimit is two 64-bit rlim_t (cur, max) on all of them.
        int resource = OperatingSystem.IsLinux() ? 7 : 8;
        ulong* limits = stackalloc ulong[2];
        if (getrlimit(resource, limits) != 0)
        {
            return null;
        }
        return limits[0] >= long.MaxValue ? long.MaxValue : (long)limits[0];
    }

#if NET
    [LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int getrlimit(int resource, ulong* limits);
#else
    [DllImport("libc", EntryPoint = "getrlimit")]
    private static extern int getrlimit(int resource, ulong* limits);
#endif
}
