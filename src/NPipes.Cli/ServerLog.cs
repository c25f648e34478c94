using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace NPipes.Cli;

/// <summary>
/// The lines a serving command (echo, rpc serve) writes to standard error about its clients, written by one background
/// thread from a bounded queue: logging never blocks serving. When nobody drains standard error the queue fills, later
/// lines are dropped and counted, and once writing resumes one line says how many were lost. Each line is made one line
/// (<see cref="Quote.Line"/>).
/// </summary>
internal sealed class ServerLog : IDisposable
{
    /// <summary>Lines queued at most (a few hundred KB at the longest lines seen); beyond them lines are dropped.</summary>
    public const int Capacity = 1024;

    private readonly BlockingCollection<string> _lines = new(Capacity);
    private readonly Stream _stderr;
    private readonly string _prefix;
    private readonly Thread _writer;
    private long _dropped;

    public ServerLog(string prefix, Stream? stderr = null)
    {
        _prefix = prefix;
        _stderr = stderr ?? Console.OpenStandardError();
        // A thread of its own: a write blocked on a full pipe holds only it, never a thread-pool thread.
        _writer = new Thread(Drain) { IsBackground = true, Name = "npipes stderr" };
        _writer.Start();
    }

    /// <summary>Lines dropped so far because standard error was not taking them.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues one line ("PREFIX: TEXT"); never blocks: when the queue is full the line is dropped and counted.</summary>
    public void Write(string text)
    {
        if (!_lines.IsAddingCompleted && !_lines.TryAdd(Quote.Line(_prefix + ": " + text)))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private void Drain()
    {
        long reported = 0;
        try
        {
            foreach (string line in _lines.GetConsumingEnumerable())
            {
                WriteLine(line);
                long dropped = Dropped;
                if (dropped > reported && _lines.Count == 0)
                {
                    WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_prefix}: {dropped - reported} log lines dropped (standard error was not being read)"));
                    reported = dropped;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Standard error is gone: nothing more can be logged, and serving goes on.
        }
    }

    private void WriteLine(string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line + Environment.NewLine);
        _stderr.Write(bytes, 0, bytes.Length);
        _stderr.Flush();
    }

    /// <summary>Stops taking lines and gives the writer a moment to write what is queued (it may be blocked: then they are lost).</summary>
    public void Dispose()
    {
        _lines.CompleteAdding();
        _writer.Join(TimeSpan.FromMilliseconds(500));
    }
}
