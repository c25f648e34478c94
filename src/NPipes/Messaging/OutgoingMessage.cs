using System.Buffers;
using NPipes.Messaging.Writing;
using NPipes.Transport;

namespace NPipes;

/// <summary>
/// A message to fill in place and send, from <see cref="PipeConnection.CreateMessage"/> (docs/shared-memory.md §6):
/// write the payload into <see cref="Memory"/> (or <see cref="Span"/>), then <see cref="SendAsync"/> or
/// <see cref="Send"/> once. Through shared memory its memory is a slot of the connection's ring (or, larger than the
/// ring, a file of its own on Linux), so the sender copies nothing; while it is unsent, the connection's other
/// shared-memory sends go in files of their own (inline on Windows).
/// Dispose it afterwards, sent or not (one disposed of unsent sends nothing); its memory must not be used after it is
/// sent or disposed.
/// </summary>
public sealed class OutgoingMessage : IDisposable
{
    private readonly PipeConnection _connection;
    private readonly int _length;
    private readonly long _position; // the ring slot's position, or -1
    private OutgoingSharedFile? _file;
    private RingSender? _ring;
    private byte[]? _buffer;
    private int _used; // 1 once sent or disposed

    internal OutgoingMessage(PipeConnection connection, OutgoingSharedFile? file, byte[]? buffer, int length)
    {
        _connection = connection;
        _file = file;
        _buffer = buffer;
        _length = length;
        _position = -1;
    }

    /// <summary>A message written in place in the ring slot at <paramref name="position"/> (the ring held until sent or disposed).</summary>
    internal OutgoingMessage(PipeConnection connection, RingSender ring, long position, int length)
        : this(connection, null, null, length)
    {
        _ring = ring;
        _position = position;
    }

    /// <summary>The payload's length in bytes.</summary>
    public int Length => _length;

    /// <summary>Whether the payload goes through shared memory (else inline).</summary>
    public bool IsSharedMemory => _file is not null || _ring is not null;

    /// <summary>The payload's memory, to write into.</summary>
    /// <exception cref="ObjectDisposedException">The message was sent or disposed.</exception>
    public Memory<byte> Memory
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _used) != 0, this);
            return _ring is { } ring ? ring.Slot(_position, _length) : _file is { } file ? file.Memory[.._length] : _buffer.AsMemory(0, _length);
        }
    }

    /// <summary>The payload's memory as a span, to write into.</summary>
    /// <exception cref="ObjectDisposedException">The message was sent or disposed.</exception>
    public Span<byte> Span => Memory.Span;

    /// <summary>
    /// Sends the message, as <see cref="PipeConnection.SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/> would send
    /// its payload; through shared memory it completes once the descriptor frame is written (after waiting, if need be,
    /// for the in-flight budget of §3.4). A message is sent at most once.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The message was already sent or disposed.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; if the frame was partly written the connection is closed.</exception>
    public async ValueTask SendAsync(CancellationToken cancellationToken = default)
    {
        Take();
        try
        {
            await _connection.SendCreatedAsync(_file, _ring is null ? -1 : _position, _length, Inline, sync: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReleaseResources();
        }
    }

    /// <summary>Synchronous twin of <see cref="SendAsync"/>: the same operation, writing on the calling thread; no cancellation token.</summary>
    /// <exception cref="ObjectDisposedException">The message was already sent or disposed.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed or broke during the write.</exception>
    public void Send()
    {
        Take();
        try
        {
            Messaging.SyncTwin.Wait(_connection.SendCreatedAsync(_file, _ring is null ? -1 : _position, _length, Inline, sync: true, default));
        }
        finally
        {
            ReleaseResources();
        }
    }

    /// <summary>Releases the memory; a message not yet sent is abandoned. Safe to call more than once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _used, 1) == 0)
        {
            ReleaseResources();
        }
    }

    /// <summary>The buffer of an inline message (empty for a shared-memory one).</summary>
    private ReadOnlyMemory<byte> Inline => _buffer is { } buffer ? buffer.AsMemory(0, _length) : default;

    private void Take()
    {
        if (Interlocked.Exchange(ref _used, 1) != 0)
        {
            throw new ObjectDisposedException(nameof(OutgoingMessage), "The message was already sent or disposed: create another.");
        }
    }

    private void ReleaseResources()
    {
        Interlocked.Exchange(ref _ring, null)?.Release();
        if (Interlocked.Exchange(ref _file, null) is IDisposable file)
        {
            file.Dispose();
        }
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
