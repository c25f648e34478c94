using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NPipes.WindowsTests;

/// <summary>
/// Diagnostics for hangs under Wine: tests and the peer record steps; a watchdog thread prints the last steps
/// to standard error if nothing has been recorded for <see cref="QuietMs"/>, then ends the process at once with
/// exit code <see cref="HangExitCode"/> (TerminateProcess: works even when the runtime itself is wedged).
/// .ci/wine-lane.sh treats that code as "the run hung" and retries. Recording is cheap and never waits.
/// Rare whole-process hangs (all threads idle, after a test's last await) were seen under Wine 8 + .NET 10;
/// they are Wine/runtime trouble, not the pipes: a test's own failure is reported by its guards
/// (<see cref="Pipes.Guard"/>, shorter than <see cref="QuietMs"/>), not by this watchdog.
/// </summary>
public static partial class HangTrace
{
    [LibraryImport("kernel32.dll")]
    private static partial IntPtr GetCurrentProcess();

    [LibraryImport("kernel32.dll")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool TerminateProcess(IntPtr hProcess, uint uExitCode);

    private static readonly ConcurrentQueue<string> steps = new();
    private static long lastTick = Environment.TickCount64;
    private static long dumpedAt = -1;
    private const int Keep = 60;
    public const int QuietMs = 15_000;
    public const int HangExitCode = 99;

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
                    Console.Error.WriteLine($"[hang-trace] ending the process with exit code {HangExitCode}");
                    Console.Error.Flush();
                    if (OperatingSystem.IsWindows())
                        TerminateProcess(GetCurrentProcess(), HangExitCode);
                    Environment.Exit(HangExitCode);
                }
            }
        })
        { IsBackground = true, Name = "hang-trace watchdog" };
        t.Start();
    }
}

/// <summary>Conventions that keep the tests safe under Wine.</summary>
public static class WineSafe
{
    /// <summary>
    /// Every test method is <c>async Task</c> and starts with <c>await WineSafe.AsyncBody;</c> if it has no other
    /// await. Reason: under Wine 8 + .NET 10 an exception thrown out of a SYNCHRONOUS test method (a failed
    /// assertion, or Assert.Skip) unwinds through xunit's reflection invoke and can hang the whole process
    /// (every time with DOTNET_TieredCompilation=0, now and then without). In an async method the exception is
    /// captured in the returned Task instead, and xunit reports it normally.
    /// </summary>
    public static Task AsyncBody => Task.CompletedTask;
}
