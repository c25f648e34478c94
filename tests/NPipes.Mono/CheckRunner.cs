using System;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>Runs the checks one at a time, each bounded, and counts them for test.sh (count_tagged mono).</summary>
internal sealed class CheckRunner
{
    /// <summary>What a check's token allows: it ends the check's peers and waits.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    /// <summary>A check still running this long after its token fired is reported hung and left behind.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(20);

    private readonly string? _filter;
    private int _passed;
    private int _failed;
    private int _skipped;

    /// <param name="filter">Runs only the checks whose name contains it (the others are not counted); null: all.</param>
    public CheckRunner(string? filter) => _filter = filter;

    public async Task CheckAsync(string name, Func<CancellationToken, Task> body)
    {
        if (_filter is not null && !name.Contains(_filter))
        {
            return;
        }
        using var budget = new CancellationTokenSource(Budget);
        var clock = System.Diagnostics.Stopwatch.StartNew(); // reported, never asserted
        Task run = Task.Run(() => body(budget.Token));
        Task first = await Task.WhenAny(run, Task.Delay(Budget + Grace)).ConfigureAwait(false);
        if (first != run)
        {
            Fail(name, $"still running {(Budget + Grace).TotalSeconds:0} s after it started (hung)");
            return;
        }
        try
        {
            await run.ConfigureAwait(false);
            _passed++;
            Console.WriteLine($"PASS {name} ({clock.Elapsed.TotalSeconds:0.0} s)");
        }
        catch (Exception e) when (budget.IsCancellationRequested && e is OperationCanceledException)
        {
            Fail(name, $"not done within {Budget.TotalSeconds:0} s: {e.Message}");
        }
        catch (Exception e)
        {
            Fail(name, $"({clock.Elapsed.TotalSeconds:0.0} s) " + (e is CheckFailedException ? e.Message : e.ToString()));
        }
    }

    public void Skip(string name, string reason)
    {
        if (_filter is not null && !name.Contains(_filter))
        {
            return;
        }
        _skipped++;
        Console.WriteLine($"SKIP {name}: {reason}");
    }

    /// <summary>Prints the summary line; the process's exit code (1 when a check failed).</summary>
    public int Summarize()
    {
        Console.WriteLine($"mono: {_passed} passed, {_failed} failed, {_skipped} skipped");
        return _failed == 0 ? 0 : 1;
    }

    private void Fail(string name, string why)
    {
        _failed++;
        Console.WriteLine($"FAIL {name}: {why}");
    }
}

/// <summary>A check's expectation that did not hold (reported by its message alone, without a stack trace).</summary>
internal sealed class CheckFailedException(string message) : Exception(message);

/// <summary>The assertions the checks make.</summary>
internal static class Expect
{
    public static void That(bool condition, string what)
    {
        if (!condition)
        {
            throw new CheckFailedException(what);
        }
    }

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!Equals(expected, actual))
        {
            throw new CheckFailedException($"{what}: expected '{expected}', got '{actual}'");
        }
    }

    /// <summary>Runs <paramref name="action"/> and returns the exception of type <typeparamref name="T"/> it throws.</summary>
    public static async Task<T> ThrowsAsync<T>(Func<Task> action, string what) where T : Exception
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (T e)
        {
            return e;
        }
        catch (Exception e)
        {
            throw new CheckFailedException($"{what}: expected {typeof(T).Name}, got {e.GetType().Name}: {e.Message}");
        }
        throw new CheckFailedException($"{what}: expected {typeof(T).Name}, nothing was thrown");
    }
}
