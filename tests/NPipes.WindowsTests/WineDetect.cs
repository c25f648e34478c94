using System.Runtime.InteropServices;

namespace NPipes.WindowsTests;

/// <summary>
/// Detects Wine through the <c>wine_get_version</c> export of ntdll.dll (GetModuleHandle + GetProcAddress),
/// which real Windows does not have.
/// </summary>
public static class WineDetect
{
    private static readonly Lazy<string?> version = new(Detect);

    /// <summary>True when running under Wine.</summary>
    public static bool IsWine => version.Value is not null;

    /// <summary>Wine's version string (e.g. "8.0"), or null on real Windows and on other systems.</summary>
    public static string? Version => version.Value;

    /// <summary>A description of where the tests run, for messages.</summary>
    public static string Describe() =>
        IsWine ? $"Wine {Version}" : OperatingSystem.IsWindows() ? "Windows" : RuntimeInformation.OSDescription;

    private static unsafe string? Detect()
    {
        if (!OperatingSystem.IsWindows())
            return null;
        IntPtr ntdll = Win32.GetModuleHandle("ntdll.dll");
        if (ntdll == IntPtr.Zero)
            return null;
        IntPtr proc = Win32.GetProcAddress(ntdll, "wine_get_version");
        if (proc == IntPtr.Zero)
            return null;
        var getVersion = (delegate* unmanaged<sbyte*>)proc;
        sbyte* v = getVersion();
        return v == null ? "unknown" : new string(v);
    }
}

/// <summary>Skips that keep the Windows lane honest and visible.</summary>
public static class Require
{
    /// <summary>Skips (visibly) unless the process runs on Windows or Wine: these tests use kernel32 named pipes.</summary>
    public static void Windows()
    {
        HangTrace.Step("test " + TestContext.Current.Test?.TestDisplayName);
        Assert.SkipUnless(OperatingSystem.IsWindows(),
            $"Windows named-pipe test: runs only on Windows or under Wine (.ci/wine-lane.sh), not on {RuntimeInformation.OSDescription}");
    }
}
