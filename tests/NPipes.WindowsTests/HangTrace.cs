using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace NPipes.WindowsTests;

/// <summary>
/// Diagnostics for hangs under Wine: tests and the peer record steps; a watchdog thread prints the last steps
/// to standard error if nothing has been recorded for a while (the lane's `timeout` then ends the process).
/// Recording is cheap and never waits.
/// </summary>
public static class HangTrace
{
    private static readonly ConcurrentQueue<string> steps = new();
    private static long lastTick = Environment.TickCount64;
    private static long dumpedAt = -1;
    private const int Keep = 60;
    private const int QuietMs = 12_000;

    public static void Step(string what, [CallerMemberName] string? caller = null)
    {
        long now = Environment.TickCount64;
        Interlocked.Exchange(ref lastTick, now);
        steps.Enqueue($"{now % 1_000_000,6} T{Environment.CurrentManagedThreadId,-3} {caller}: {what}");
        while (steps.Count > Keep && steps.TryDequeue(out _)) { }
    }

#pragma warning disable CA2255 // module initializer in a test exe: starts the watchdog once
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void StartWatchdog()
    {
        var t = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(1000); // the watchdog's own polling, not test synchronisation
                long last = Interlocked.Read(ref lastTick);
                if (Environment.TickCount64 - last > QuietMs && Interlocked.Read(ref dumpedAt) != last && !steps.IsEmpty)
                {
                    Interlocked.Exchange(ref dumpedAt, last);
                    Console.Error.WriteLine($"[hang-trace] no progress for {QuietMs / 1000}s; last steps:");
                    foreach (string s in steps.ToArray())
                        Console.Error.WriteLine("[hang-trace]   " + s);
                }
            }
        })
        { IsBackground = true, Name = "hang-trace watchdog" };
        t.Start();
    }
}
