using System.Runtime.InteropServices;

namespace NPipes.WindowsTests;

/// <summary>
/// Detects Wine through the <c>wine_get_version</c> export of ntdll.dll (GetModuleHandle + GetProcAddress),
/// which real Windows does not have.
/// <para>
/// The export is only LOOKED UP, never called: calling it from .NET under Wine 8 broke the process
/// (whole-process hangs right after the call, access violations in unrelated managed code later; with
/// DOTNET_TieredCompilation=0 every run hung at the first call). Wine's own functions do not honour the
/// Windows x64 calling convention's callee-saved registers the way managed code relies on. The version
/// shown in messages comes from the WINE_VERSION variable the lane sets (`wine --version`).
/// </para>
/// </summary>
public static class WineDetect
{
    private static readonly Lazy<bool> isWine = new(Detect);

    /// <summary>True when running under Wine.</summary>
    public static bool IsWine => isWine.Value;

    /// <summary>Wine's version as the lane reported it (e.g. "wine-8.0"), "Wine" if unknown; null when not under Wine.</summary>
    public static string? Version =>
        !IsWine ? null : Environment.GetEnvironmentVariable("WINE_VERSION") is { Length: > 0 } v ? v : "Wine";

    /// <summary>A description of where the tests run, for messages.</summary>
    public static string Describe() =>
        IsWine ? $"{Version}" : OperatingSystem.IsWindows() ? "Windows" : RuntimeInformation.OSDescription;

    private static bool Detect()
    {
        if (!OperatingSystem.IsWindows())
            return false;
        IntPtr ntdll = Win32.GetModuleHandle("ntdll.dll");
        return ntdll != IntPtr.Zero && Win32.GetProcAddress(ntdll, "wine_get_version") != IntPtr.Zero;
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
