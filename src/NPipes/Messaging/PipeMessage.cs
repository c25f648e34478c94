using System.Buffers;

namespace NPipes;

/// <summary>
/// A received message. Its payload lives in a pooled buffer: dispose the message to return the buffer, or call
/// <see cref="ToArray"/> to keep a copy. The payload must not be used after disposal.
/// </summary>
public sealed class PipeMessage : IDisposable
{
    private readonly FrameOptions _options;
    private readonly int _length;
    private byte[]? _buffer;

    internal PipeMessage(byte[] buffer, int length, FrameOptions options, uint crc)
    {
        _buffer = buffer;
        _length = length;
        _options = options;
        Crc = crc;
    }

    /// <summary>The payload bytes.</summary>
    /// <exception cref="ObjectDisposedException">The message was disposed and its buffer returned.</exception>
    public ReadOnlyMemory<byte> Payload => new(Buffer, 0, _length);

    /// <summary>The payload length in bytes.</summary>
    public int Length => _length;

    /// <summary>The frame's CRC-32 field as received (0 when the sender had CRC off). Checked on receipt when CRC is on.</summary>
    public uint Crc { get; }

    /// <summary>The payload decoded as text in the connection's (strict) encoding.</summary>
    /// <exception cref="InvalidTextException">The payload is not valid in that encoding.</exception>
    public string GetText() => FrameCodec.GetText(new ReadOnlySpan<byte>(Buffer, 0, _length), _options);

    /// <summary>A copy of the payload that outlives the message.</summary>
    public byte[] ToArray() => Payload.ToArray();

    /// <summary>Returns the payload buffer to the pool. Safe to call more than once.</summary>
    public void Dispose()
    {
        byte[]? buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is { Length: > 0 })
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PipeMessage), "The message was disposed and its pooled buffer returned; copy the payload with ToArray() to keep it.");
}
