using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace NPipes.Hosting.Tests;

/// <summary>Random pipe names and bounded waits (no test sleeps to synchronise, none waits forever).</summary>
internal static class Bounded
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static string NewName() => "nph_" + Guid.NewGuid().ToString("N")[..16];

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test if it does not within <see cref="Patience"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for " + what);
            await Task.Delay(5, Ct);
        }
    }

    /// <summary>The repository root (where NPipes.slnx is).</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "NPipes.slnx")))
                {
                    return dir.FullName;
                }
            }
            throw new DirectoryNotFoundException("Cannot find the repository root (NPipes.slnx).");
        }
    }
}

/// <summary>One captured log event.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception, IReadOnlyList<KeyValuePair<string, object?>> State)
{
    public object? this[string key] => State.FirstOrDefault(p => p.Key == key).Value;
}

/// <summary>An <see cref="ILoggerProvider"/> that keeps every event (all levels) for the test to inspect.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILoggerFactory Factory() => LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(this));

    /// <summary>NPipes' events (categories "NPipes" and "NPipes.Hosting") with this id; other categories reuse ids.</summary>
    public IEnumerable<LogEntry> WithId(int id) => Entries.Where(e => e.EventId.Id == id && e.Category.StartsWith("NPipes", StringComparison.Ordinal));

    public async Task<LogEntry> WaitForAsync(int id, Func<LogEntry, bool>? match = null)
    {
        LogEntry? found = null;
        await Bounded.UntilAsync(() => (found = WithId(id).FirstOrDefault(e => match?.Invoke(e) ?? true)) is not null, $"log event {id}");
        return found!;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var pairs = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception, [.. pairs]));
        }
    }
}

/// <summary>
/// A real <see cref="MeterListener"/> on the meter "NPipes" of one <see cref="IMeterFactory"/> (so parallel tests do not
/// see each other's measurements), keeping every measurement with its tags.
/// </summary>
internal sealed class MeasurementLog : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Measured> _measured = new();

    public MeasurementLog(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == NPipesTelemetry.MeterName && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    public sealed record Measured(Instrument Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _measured.Enqueue(new Measured(instrument, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));

    /// <summary>Every measurement of <paramref name="instrument"/> on <paramref name="pipeName"/> so far.</summary>
    public IReadOnlyList<Measured> Of(string instrument, string pipeName) =>
        [.. _measured.Where(m => m.Instrument.Name == instrument && Equals(m.Tags.GetValueOrDefault("npipes.pipe.name"), pipeName))];

    /// <summary>The sum of a counter's measurements on a pipe.</summary>
    public double Sum(string instrument, string pipeName) => Of(instrument, pipeName).Sum(m => m.Value);

    /// <summary>The latest value an observable instrument reports for a pipe (collects now).</summary>
    public double Observe(string instrument, string pipeName)
    {
        _listener.RecordObservableInstruments();
        return Of(instrument, pipeName).LastOrDefault()?.Value ?? 0;
    }

    public void Dispose() => _listener.Dispose();
}
