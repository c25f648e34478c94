using System.Diagnostics;

namespace NPipes.Messaging;

/// <summary>
/// A pass-through stream that records when a read started waiting, so the server's watchdog can close a connection
/// whose peer went quiet. One timestamp per connection instead of a timer per read keeps the fast path allocation-free.
/// Writes pass straight through, so on a message pipe each frame is still one write (one message). The connection asks
/// the transport stream itself, not this wrapper, for the pipe's capabilities. The span and memory overloads (the hot
/// path, without a Task per read) are in IdleWatchStream.Net.cs: netstandard2.0's Stream has none to override.
/// </summary>
internal sealed partial class IdleWatchStream(Stream inner) : Stream
{
    private long _readSince; // Stopwatch timestamp while a read waits; 0 when none does
    private long _writeSince; // Stopwatch timestamp while a write waits; 0 when none does

    /// <summary>How long the current read has been waiting, or zero when no read is waiting.</summary>
    public TimeSpan ReadWaiting
    {
        get
        {
            long since = Volatile.Read(ref _readSince);
            return since == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(since);
        }
    }

    /// <summary>How long the current write has been blocked, or zero when no write is in progress.</summary>
    public TimeSpan WriteWaiting
    {
        get
        {
            long since = Volatile.Read(ref _writeSince);
            return since == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(since);
        }
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        Volatile.Write(ref _readSince, Stopwatch.GetTimestamp());
        try
        {
            return inner.Read(buffer, offset, count);
        }
        finally
        {
            Volatile.Write(ref _readSince, 0);
        }
    }

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _readSince, Stopwatch.GetTimestamp());
        try
        {
            return await inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _readSince, 0);
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        Volatile.Write(ref _writeSince, Stopwatch.GetTimestamp());
        try
        {
            inner.Write(buffer, offset, count);
        }
        finally
        {
            Volatile.Write(ref _writeSince, 0);
        }
    }

    public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _writeSince, Stopwatch.GetTimestamp());
        try
        {
            await inner.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _writeSince, 0);
        }
    }

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
