namespace NPipes.Transport;

/// <summary>
/// How many connections a server can hold without running the process out of file descriptors: each accepted
/// connection holds one, and the runtime needs more of its own: a .NET server starts with about 66 (two per loaded
/// assembly), and when none is left the runtime cannot start a thread and aborts ("Out of memory."). The rule, the
/// same in .NET and Python (docs/reliability.md, "Descriptor exhaustion"): default MaxConnections =
/// min(1024, soft RLIMIT_NOFILE - max(128, soft / 4)), at least 1; 1024 where there is no such limit (Windows).
/// </summary>
internal static class DescriptorLimit
{
    /// <summary>The default connection limit when the platform sets none.</summary>
    public const int DefaultMaxConnections = 1024;

    /// <summary>The process's soft open-file limit now; null on Windows or when it cannot be read.</summary>
    public static long? Current => OperatingSystem.IsWindows() ? null : UnixLimits.OpenFilesSoftLimit();

    /// <summary>The default connection limit under <paramref name="openFiles"/> (see the class remarks).</summary>
    public static int MaxConnectionsFor(long? openFiles) =>
        openFiles is long limit ? (int)Math.Clamp(limit - Math.Max(128, limit / 4), 1, DefaultMaxConnections) : DefaultMaxConnections;
}
