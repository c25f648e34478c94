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

    /// <summary>Writes three buffers in order: one non-blocking gather send for what the transport takes at once, then the rest through the stream.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteGatherAsync(ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> trailer, bool sync, CancellationToken cancellationToken)
    {
        int total = header.Length + payload.Length + trailer.Length;
        // Never blocks here: what the transport does not take at once goes through the stream below, so a server's
        // write watchdog (IdleWatchStream) sees a write that waits for the peer.
        int sent = queue.Direct?.TrySendGather(header.Span, payload.Span, trailer.Span) ?? 0;
        if (sent < total)
        {
            Advance(sent, header, payload, trailer, out ReadOnlyMemory<byte> a, out ReadOnlyMemory<byte> b, out ReadOnlyMemory<byte> c);
            await WritePartAsync(a, sync, cancellationToken).ConfigureAwait(false);
            await WritePartAsync(b, sync, cancellationToken).ConfigureAwait(false);
            await WritePartAsync(c, sync, cancellationToken).ConfigureAwait(false);
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
