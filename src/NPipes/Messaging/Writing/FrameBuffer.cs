namespace NPipes.Messaging.Writing;

/// <summary>
/// The bytes of queued frames, encoded back to back, and a spare array: the writer takes the filled array and leaves the
/// spare in its place, so senders fill one array while the other is being written. Not thread-safe: <see cref="SendQueue"/>
/// calls it under its lock.
/// </summary>
internal sealed class FrameBuffer
{
    private const int InitialCapacity = 4 * 1024;

    private byte[] _queue = new byte[InitialCapacity];
    private byte[] _spare = new byte[InitialCapacity];
    private int _count;

    /// <summary>Bytes queued. Safe to read without the lock as a hint (it is written under the lock).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The queued bytes, oldest first.</summary>
    public ReadOnlySpan<byte> Pending => _queue.AsSpan(0, _count);

    /// <summary>Encodes one frame (binary <paramref name="payload"/>, or <paramref name="text"/> of <paramref name="byteCount"/> bytes) after what is queued, growing the array up to <paramref name="limit"/> (or to the frame, if larger).</summary>
    public void Append(ReadOnlySpan<byte> payload, string? text, int byteCount, uint crc, FrameOptions options, int limit)
    {
        int payloadLength = text is null ? payload.Length : byteCount;
        int frameLength = FrameCodec.Overhead + payloadLength;
        if (_count + frameLength > _queue.Length)
        {
            Grow(_count + frameLength, limit);
        }
        Span<byte> frame = _queue.AsSpan(_count, frameLength);
        if (text is null)
        {
            FrameCodec.WriteHeader(frame, (uint)payloadLength, options.ByteOrder);
            payload.CopyTo(frame[FrameCodec.HeaderLength..]);
            FrameCodec.WriteCrcField(frame[(FrameCodec.HeaderLength + payloadLength)..], crc, options.ByteOrder);
        }
        else
        {
            FrameCodec.WriteText(frame, text, byteCount, options);
        }
        Volatile.Write(ref _count, _count + frameLength);
    }

    /// <summary>The first <paramref name="sent"/> queued bytes went out (a direct send): drops them, keeping the rest in order.</summary>
    public void Consume(int sent)
    {
        _queue.AsSpan(sent, _count - sent).CopyTo(_queue);
        Volatile.Write(ref _count, _count - sent);
    }

    /// <summary>
    /// Hands the queued bytes to the writer and starts an empty queue in the spare array. The spare is free: only the
    /// writer that owns the write side takes, and its previous chunk was written before it took again.
    /// </summary>
    public (byte[] Chunk, int Count) Take()
    {
        byte[] chunk = _queue;
        int count = _count;
        _queue = _spare;
        _spare = chunk;
        Volatile.Write(ref _count, 0);
        return (chunk, count);
    }

    /// <summary>Drops everything queued (the connection failed or closed).</summary>
    public void Clear() => Volatile.Write(ref _count, 0);

    private void Grow(int needed, int limit)
    {
        int capacity = Math.Max(needed, Math.Min(limit, _queue.Length * 2));
        byte[] grown = GC.AllocateUninitializedArray<byte>(capacity);
        _queue.AsSpan(0, _count).CopyTo(grown);
        _queue = grown;
    }
}
