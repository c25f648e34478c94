using System.Buffers;
using NPipes.Transport;

namespace NPipes;

/// <summary>
/// A received message. Its payload lives in a pooled buffer, or, for a message that came through shared memory
/// (docs/shared-memory.md) in a sealed file of its own, in a read-only mapping of that file (a ring slot's payload is
/// copied out into a pooled buffer like an inline one): dispose the message to return the buffer
/// or unmap the file, or call <see cref="ToArray"/> to keep a copy. The payload must not be used after disposal: a span
/// of an unmapped payload is no longer memory this process may read. A shared-memory message never disposed stays
/// mapped until the process exits (no finalizer unmaps it: one could run while a span of the payload is still read).
/// </summary>
public sealed class PipeMessage : IDisposable
{
    private readonly FrameOptions _options;
    private readonly int _length;
    private byte[]? _buffer;
    private SharedMemoryView? _view;

    internal PipeMessage(byte[] buffer, int length, FrameOptions options, uint crc)
    {
        _buffer = buffer;
        _length = length;
        _options = options;
        Crc = crc;
    }

    /// <summary>A message whose payload is the shared-memory mapping <paramref name="view"/> (which it now owns).</summary>
    internal PipeMessage(SharedMemoryView view, int length, FrameOptions options, uint crc)
        : this([], length, options, crc)
    {
        _view = view;
    }

    /// <summary>The payload bytes.</summary>
    /// <exception cref="ObjectDisposedException">The message was disposed and its buffer returned (or its mapping unmapped).</exception>
    public ReadOnlyMemory<byte> Payload => Volatile.Read(ref _view) is { } view ? view.Memory[.._length] : new(Buffer, 0, _length);

    /// <summary>The payload length in bytes.</summary>
    public int Length => _length;

    /// <summary>
    /// The frame's CRC-32 field as received (0 when the sender had CRC off); for a shared-memory message, the CRC its
    /// descriptor carried. Checked on receipt when CRC is on.
    /// </summary>
    public uint Crc { get; }

    /// <summary>The payload decoded as text in the connection's (strict) encoding.</summary>
    /// <exception cref="InvalidTextException">The payload is not valid in that encoding.</exception>
    public string GetText() => FrameCodec.GetText(Payload.Span, _options);

    /// <summary>A copy of the payload that outlives the message.</summary>
    public byte[] ToArray() => Payload.ToArray();

    /// <summary>Returns the payload buffer to the pool, or unmaps the shared memory. Safe to call more than once.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _view, null)?.Release();
        byte[]? buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is { Length: > 0 })
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PipeMessage), "The message was disposed and its pooled buffer returned; copy the payload with ToArray() to keep it.");
}
