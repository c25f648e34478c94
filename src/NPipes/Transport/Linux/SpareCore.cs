using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace NPipes.Transport;

/// <summary>
/// Whether the machine has a core to spare: the number of runnable tasks (the fourth field of /proc/loadavg: running or
/// waiting to run, the asking thread included) is at most the processor count. A spin waiting for a peer while every
/// core is taken only delays that peer, so receives spin only when this holds. Sampled at most every 10 ms (one pread of
/// a file kept open), so asking is almost free; false when the file cannot be read.
/// </summary>
internal static class SpareCore
{
    private static readonly long SampleTicks = Stopwatch.Frequency / 100;
    private static readonly int Cores = Environment.ProcessorCount;
    private static readonly SafeFileHandle? LoadAverage = Open();
    private static long s_nextSample;
    private static volatile bool s_spare;

    /// <summary>The last sample's answer (refreshed when it is older than 10 ms).</summary>
    public static bool Likely
    {
        get
        {
            long now = Stopwatch.GetTimestamp();
            long next = Volatile.Read(ref s_nextSample);
            if (now >= next && Interlocked.CompareExchange(ref s_nextSample, now + SampleTicks, next) == next)
            {
                s_spare = Runnable() is int runnable && runnable <= Cores;
            }
            return s_spare;
        }
    }

    /// <summary>The runnable task count now, or null when it cannot be read.</summary>
    internal static int? Runnable()
    {
        if (LoadAverage is null)
        {
            return null;
        }
        Span<byte> text = stackalloc byte[128];
        int length;
        try
        {
            length = RandomAccess.Read(LoadAverage, text, 0);
        }
        catch (IOException)
        {
            return null;
        }
        return Parse(text[..length]);
    }

    /// <summary>The runnable count in /proc/loadavg's text ("0.52 0.58 0.59 3/245 12345"), or null if it is not there.</summary>
    internal static int? Parse(ReadOnlySpan<byte> text)
    {
        for (int field = 0; field < 3; field++)
        {
            int space = text.IndexOf((byte)' ');
            if (space < 0)
            {
                return null;
            }
            text = text[(space + 1)..];
        }
        int value = 0, digits = 0;
        for (; digits < text.Length && text[digits] is >= (byte)'0' and <= (byte)'9' && digits < 9; digits++)
        {
            value = value * 10 + (text[digits] - '0');
        }
        return digits > 0 && digits < text.Length && text[digits] == (byte)'/' ? value : null;
    }

    private static SafeFileHandle? Open()
    {
        try
        {
            return OperatingSystem.IsLinux() ? File.OpenHandle("/proc/loadavg") : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
