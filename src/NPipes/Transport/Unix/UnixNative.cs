using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The libc calls the endpoint protocol needs and .NET does not offer. <c>geteuid</c> and <c>link</c> have the same
/// signature and the same errno values (for the ones named here) on every Unix. <c>statx</c> is Linux-only and is
/// called only where <c>OperatingSystem.IsLinux()</c> holds: its struct is the kernel's, with fixed-width fields
/// at fixed offsets on every Linux architecture (unlike <c>struct stat</c>, whose layout differs between x64, arm64
/// and macOS, and whose <c>lstat</c> symbol older glibc does not even export).
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static unsafe partial class UnixNative
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENOTDIR = 20;
    public const int EMLINK = 31;

    /// <summary>Whether a failed <c>link</c> means the file system refuses hard links here (doc §4.3).</summary>
    public static bool RefusesHardLinks(int errno) => errno is EPERM or EXDEV or EMLINK
        || (OperatingSystem.IsLinux() ? errno == 95 /* EOPNOTSUPP = ENOTSUP */ : errno is 45 or 102 /* BSD ENOTSUP, macOS EOPNOTSUPP */);

#if NET
    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int link(string existing, string created);

    /// <summary>Linux statx(2) into a 256-byte <c>struct statx</c>.</summary>
    [SupportedOSPlatform("linux")]
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);
#else
    // The same functions through DllImport (no source-generated marshalling before .NET 7); paths are passed as
    // NUL-terminated UTF-8, as LibraryImport's StringMarshalling.Utf8 does.
    [DllImport("libc", EntryPoint = "geteuid")]
    public static extern uint geteuid();

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int link(byte[] existing, byte[] created);

    public static int link(string existing, string created) => link(UnixLibc.Utf8Z(existing), UnixLibc.Utf8Z(created));

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int statx(int dirfd, byte[] path, int flags, uint mask, byte* buffer);

    /// <summary>Linux statx(2) into a 256-byte <c>struct statx</c>.</summary>
    [SupportedOSPlatform("linux")]
    public static int statx(int dirfd, string path, int flags, uint mask, byte* buffer) => statx(dirfd, UnixLibc.Utf8Z(path), flags, mask, buffer);

    /// <summary>ioctl(2) with an int out-value (SIOCOUTQ; the net10.0 build has its own in MemfdNative).</summary>
    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static extern int ioctl(int fd, nuint request, int* value);

#endif

    /// <summary>The message for an errno, for exceptions.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
