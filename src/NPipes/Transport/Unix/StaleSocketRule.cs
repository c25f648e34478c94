using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>What <see cref="StaleSocketRule.RemoveIfStaleAsync"/> found.</summary>
internal enum StaleVerdict
{
    /// <summary>Proven stale and unlinked: the name is free now.</summary>
    Removed,
    /// <summary>A server accepts there.</summary>
    Live,
    /// <summary>The file vanished or was replaced meanwhile: look again.</summary>
    Changed,
    /// <summary>It refuses, but it is another user's (or we may not connect to it): never removed.</summary>
    NotOurs,
    /// <summary>It refuses, but this system cannot tell its type, inode or owner, so it cannot be proven stale.</summary>
    Unprovable,
}

/// <summary>
/// Doc §5, the one stale rule, used by servers claiming a name and by rendezvous: a socket file is removed only if two
/// connects at least 50 ms apart are both refused, lstat shows the same device and inode at both and again just before
/// the unlink, and its owner is our effective uid. Liveness is what the socket does, never what a table says.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class StaleSocketRule
{
    /// <summary>The least time between the two refusals: a server that binds before it listens (as .NET's
    /// NamedPipeServerStream does) refuses for a moment while alive.</summary>
    public static readonly TimeSpan Apart = TimeSpan.FromMilliseconds(50);

    /// <summary>Proves <paramref name="path"/> (last seen as <paramref name="seen"/>) stale and unlinks it, or says why not.</summary>
    public static async ValueTask<StaleVerdict> RemoveIfStaleAsync(string path, PathStatus seen, CancellationToken cancellationToken)
    {
        ProbeResult first = UnixSockets.Probe(path);
        if (first != ProbeResult.Refused)
        {
            return Verdict(first);
        }
        if (seen.Kind != PathKind.Socket || seen.Id is null || seen.Uid is null)
        {
            return StaleVerdict.Unprovable;
        }
        if (seen.Uid != UnixSockets.CurrentUid)
        {
            return StaleVerdict.NotOurs;
        }
        long since = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(since) < Apart)
        {
            await Task.Delay(Apart - Stopwatch.GetElapsedTime(since), cancellationToken).ConfigureAwait(false);
        }
        if (!SameFile(path, seen))
        {
            return StaleVerdict.Changed;
        }
        ProbeResult second = UnixSockets.Probe(path);
        if (second != ProbeResult.Refused)
        {
            return Verdict(second);
        }
        if (!SameFile(path, seen))
        {
            return StaleVerdict.Changed;
        }
        // Between that lstat and this unlink only our own user can swap the file: the temp directory is sticky (doc §5).
        File.Delete(path);
        return StaleVerdict.Removed;
    }

    /// <summary>The error for a name whose file may not be reclaimed (doc §5: "saying who holds it").</summary>
    public static PipeNameInUseException InUse(string name, string path, StaleVerdict verdict, PathStatus seen) => verdict switch
    {
        StaleVerdict.NotOurs => PipeNameInUseException.Because(name,
            $"its socket file '{path}' belongs to {Owner(seen)}, and NPipes never removes another user's file."),
        StaleVerdict.Unprovable => PipeNameInUseException.Because(name,
            $"'{path}' refuses connections, but this system does not tell its type, inode and owner, so it cannot be " +
            "proven stale. Remove it yourself if no server runs."),
        _ => new PipeNameInUseException(name),
    };

    private static string Owner(PathStatus seen) =>
        seen.Uid is uint uid ? "uid " + uid.ToString(CultureInfo.InvariantCulture) : "another user";

    private static bool SameFile(string path, PathStatus seen)
    {
        PathStatus now = PathStatus.Of(path);
        return now.Kind == PathKind.Socket && now.Id == seen.Id;
    }

    private static StaleVerdict Verdict(ProbeResult probe) => probe switch
    {
        ProbeResult.Live => StaleVerdict.Live,
        ProbeResult.Denied => StaleVerdict.NotOurs,
        _ => StaleVerdict.Changed,
    };
}
