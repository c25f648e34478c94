using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace NPipes.Diagnostics;

/// <summary>
/// What one connection reports: its message and byte counts (plain fields, summed by <see cref="PipeCounts"/> when a
/// listener collects), its frame errors, and its close with reason and duration.
/// </summary>
internal sealed class ConnectionTelemetry
{
    private static long _lastId;
    private readonly long _opened = Stopwatch.GetTimestamp();
    private readonly NPipesMetrics _metrics;
    private int _closed;

    /// <summary>The counts: written by this connection's sender(s) and reader, summed by <see cref="PipeCounts"/>.</summary>
    internal Counters Tally;

    public ConnectionTelemetry(PipeTelemetry pipe, Stream stream)
    {
        Pipe = pipe;
        _metrics = pipe.Metrics;
        Id = Interlocked.Increment(ref _lastId);
        Peer = PeerCredentials.Of(stream); // read by the transport once, when the connection was made
        pipe.Counts.Opened(this);
    }

    /// <summary>The pipe this connection is on.</summary>
    public PipeTelemetry Pipe { get; }

    /// <summary>A number identifying the connection in logs (unique in the process).</summary>
    public long Id { get; }

    /// <summary>Who is at the other end.</summary>
    public PeerIdentity Peer { get; }

    /// <summary>The peer's process id, or -1 when unknown.</summary>
    public int PeerPid => Peer.ProcessId;

    /// <summary>The peer's user id (Unix), or -1 when unknown.</summary>
    public long PeerUid => Peer.UserId ?? -1;

    /// <summary>A frame went out (or was queued in order): counts it while a listener wants sends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Sent(ReadOnlyMemory<byte> payload, string? text, FrameOptions frame)
    {
        if (_metrics.CountSends)
        {
            CountSent(text is null ? payload.Length : FrameCodec.GetByteCount(text, frame));
        }
    }

    /// <summary>A payload of <paramref name="length"/> bytes was sent through shared memory.</summary>
    public void SentShared(int length)
    {
        if (_metrics.CountSends)
        {
            CountSent(length);
        }
    }

    /// <summary>A frame with a payload of <paramref name="length"/> bytes arrived (-1: a clean end of stream, not counted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Received(int length)
    {
        if (length >= 0 && _metrics.CountReceives)
        {
            Volatile.Write(ref Tally.MessagesReceived, Tally.MessagesReceived + 1);
            Volatile.Write(ref Tally.BytesReceived, Tally.BytesReceived + FrameCodec.Overhead + length);
        }
    }

    private void CountSent(int length)
    {
        Interlocked.Increment(ref Tally.MessagesSent);
        Interlocked.Add(ref Tally.BytesSent, FrameCodec.Overhead + length);
    }

    /// <summary>The peer sent an invalid frame (or the connection's text could not be decoded).</summary>
    public void FrameError(FrameException error)
    {
        string type = NPipesTags.Of(error);
        if (_metrics.FrameErrors.Enabled)
        {
            _metrics.FrameErrors.Add(1, Pipe.Counts.Tag, new KeyValuePair<string, object?>(NPipesTags.ErrorType, type));
        }
        NPipesLog.FrameError(Pipe.Logger, error, type, Id, Pipe.PipeName, PeerPid, PeerUid);
    }

    /// <summary>The connection closed (runs once): records its duration and reason, and folds its counts into the pipe's.</summary>
    public void Closed(DisconnectReason reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }
        Pipe.Counts.Closed(this);
        if (_metrics.ConnectionDuration.Enabled || Pipe.Logger.IsEnabled(LogLevel.Debug))
        {
            double seconds = Stopwatch.GetElapsedTime(_opened).TotalSeconds;
            _metrics.ConnectionDuration.Record(seconds, Pipe.Counts.Tag, new KeyValuePair<string, object?>(NPipesTags.DisconnectReason, NPipesTags.Of(reason)));
            NPipesLog.ConnectionClosed(Pipe.Logger, Id, Pipe.PipeName, reason, seconds);
        }
    }

    /// <summary>
    /// Sent and received counts on separate cache lines: a connection's sender and reader are usually different threads,
    /// and sharing a line would make each message move it between cores. Sends may run concurrently (any number of
    /// writers), so they add atomically; receives have one reader at a time.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 224)]
    internal struct Counters
    {
        [FieldOffset(64)]
        public long MessagesSent;

        [FieldOffset(72)]
        public long BytesSent;

        [FieldOffset(144)]
        public long MessagesReceived;

        [FieldOffset(152)]
        public long BytesReceived;
    }
}
