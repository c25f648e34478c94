using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace NPipes.Transport;

/// <summary>
/// Whether the machine is quiet enough for a receive to spin: its one-minute load average (the first field of
/// /proc/loadavg) is under twice the processor count. A spin waiting for a peer while the cores are wanted by others
/// only delays that peer and everyone else. The average is smooth on purpose: an instantaneous count of runnable tasks
/// also counts this process's own socket-engine and thread-pool wake-ups, which a ping-pong that does not spin is full
/// of. Read at most every 100 ms (one pread of a file kept open), so asking is almost free; false when it cannot be read.
/// </summary>
internal static class SpareCore
{
    private static readonly long SampleTicks = Stopwatch.Frequency / 10;
    private static readonly int Cores = Environment.ProcessorCount;
    private static readonly SafeFileHandle? LoadAverage = Open();
    private static long s_nextSample;
    private static volatile bool s_quiet;

    /// <summary>The last reading's answer (refreshed when it is older than 100 ms).</summary>
    public static bool Likely
    {
        get
        {
            long now = Stopwatch.GetTimestamp();
            long next = Volatile.Read(ref s_nextSample);
            if (now >= next && Interlocked.CompareExchange(ref s_nextSample, now + SampleTicks, next) == next)
            {
                s_quiet = Load() is double load && load < 2 * Cores;
            }
            return s_quiet;
        }
    }

    /// <summary>The one-minute load average now, or null when it cannot be read.</summary>
    internal static double? Load()
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

    /// <summary>The one-minute load average in /proc/loadavg's text ("0.52 0.58 0.59 3/245 12345"), or null if it is not there.</summary>
    internal static double? Parse(ReadOnlySpan<byte> text)
    {
        int whole = 0, digits = 0;
        for (; digits < text.Length && text[digits] is >= (byte)'0' and <= (byte)'9' && digits < 9; digits++)
        {
            whole = whole * 10 + (text[digits] - '0');
        }
        if (digits == 0)
        {
            return null;
        }
        double value = whole;
        if (digits < text.Length && text[digits] == (byte)'.')
        {
            double scale = 0.1;
            for (int i = digits + 1; i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9'; i++, scale /= 10)
            {
                value += (text[i] - '0') * scale;
            }
        }
        return value;
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
