using System.Buffers;
using System.Runtime.CompilerServices;

namespace NPipes.Messaging.Writing;

/// <summary>
/// Large payloads on a coalescing connection are not copied into the queue: the sender waits until it owns the write
/// side, writes what is queued ahead of it (order is queue order), then header, payload and CRC in place: one gather send
/// for what the transport takes at once, the rest through the stream. The send returns when the frame is written.
/// </summary>
internal sealed class LargeFrameWriter(SendQueue queue, Stream stream)
{
    private readonly byte[] _edges = new byte[FrameCodec.HeaderLength + FrameCodec.CrcLength]; // used by the owner only
    private volatile bool _inFrame;

    /// <summary>True while a large frame has been partly written: an interruption now leaves the stream out of sync.</summary>
    public bool InFrame => _inFrame;

    /// <summary>Encodes <paramref name="text"/> into a pooled buffer, then writes it as a large binary payload.</summary>
    public async ValueTask WriteTextAsync(string text, int byteCount, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        byte[] encoded = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            options.Encoding.GetBytes(text, encoded.AsSpan(0, byteCount));
            await WriteAsync(encoded.AsMemory(0, byteCount), options, sync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(encoded);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> payload, FrameOptions options, bool sync, CancellationToken cancellationToken)
    {
        uint crc = options.Crc ? FrameCodec.ComputeCrc(payload.Span) : 0;
        while (!queue.TryAcquire())
        {
            await queue.WaitAsync(WaitKind.Idle, 0, sync, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await queue.Flusher.WriteQueuedAsOwnerAsync(sync).ConfigureAwait(false);
            int frameLength = FrameCodec.Overhead + payload.Length;
            queue.AddEnqueued(frameLength);
            FrameCodec.WriteHeader(_edges, (uint)payload.Length, options.ByteOrder);
            FrameCodec.WriteCrcField(_edges.AsSpan(FrameCodec.HeaderLength), crc, options.ByteOrder);
            _inFrame = true;
            await WriteGatherAsync(_edges.AsMemory(0, FrameCodec.HeaderLength), payload, _edges.AsMemory(FrameCodec.HeaderLength), sync, cancellationToken).ConfigureAwait(false);
            _inFrame = false;
            queue.AddWritten(frameLength);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            queue.Fail(e);
            throw;
        }
        finally
        {
            // InFrame stays true after an interrupted write: the connection sees it and closes (the stream is out of sync).
            queue.Release();
        }
    }

    /// <summary>
    /// Writes three buffers in order: non-blocking gather sends as long as the transport takes bytes, and when it is full,
    /// the next part through the stream (which waits for room), then gather sends again.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteGatherAsync(ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> trailer, bool sync, CancellationToken cancellationToken)
    {
        int total = header.Length + payload.Length + trailer.Length;
        int sent = 0;
        while (true)
        {
            ReadOnlyMemory<byte> a, b, c;
            if (queue.Direct is { } direct)
            {
                // A partial send means the peer's socket was full a moment ago; the peer is usually reading meanwhile, so
                // send the rest again at once: payload and CRC field then go in one call instead of two stream writes.
                int n;
                do
                {
                    Advance(sent, header, payload, trailer, out a, out b, out c);
                    n = direct.TrySendGather(a.Span, b.Span, c.Span);
                    sent += n;
                }
                while (n > 0 && sent < total);
            }
            if (sent == total)
            {
                return;
            }
            // The transport is full: the waiting is done by the stream, so that a server's write watchdog
            // (IdleWatchStream) sees a write that waits for the peer.
            Advance(sent, header, payload, trailer, out a, out b, out c);
            ReadOnlyMemory<byte> part = !a.IsEmpty ? a : !b.IsEmpty ? b : c;
            await WritePartAsync(part, sync, cancellationToken).ConfigureAwait(false);
            sent += part.Length;
        }
    }

    private ValueTask WritePartAsync(ReadOnlyMemory<byte> part, bool sync, CancellationToken cancellationToken)
    {
        if (part.IsEmpty)
        {
            return default;
        }
        if (sync)
        {
            stream.Write(part.Span);
            return default;
        }
        return stream.WriteAsync(part, cancellationToken);
    }

    /// <summary>The parts of header + payload + trailer left after the first <paramref name="sent"/> bytes.</summary>
    private static void Advance(int sent, ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> trailer,
        out ReadOnlyMemory<byte> a, out ReadOnlyMemory<byte> b, out ReadOnlyMemory<byte> c)
    {
        int h = Math.Min(sent, header.Length);
        a = header[h..];
        sent -= h;
        int p = Math.Min(sent, payload.Length);
        b = payload[p..];
        sent -= p;
        c = trailer[Math.Min(sent, trailer.Length)..];
    }
}
