using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NPipes.Messaging.Writing;
using NPipes.Transport;

namespace NPipes;

// Large payloads through shared memory (docs/shared-memory.md), when NPipesOptions.SharedMemory is set: the transport
// must offer it (else the connection is refused when made, §7); sends at or above the threshold go in a ring slot, or,
// where the ring is too small or held, in a sealed file where files travel (§3) and inline where they do not (§9);
// CreateMessage hands out that memory to write in place (§6).
public sealed partial class PipeConnection
{
    private readonly ISharedMemoryTransport? _shm;

    /// <summary>The transport's shared memory when this connection has it on (tests), else null.</summary>
    internal ISharedMemoryTransport? SharedMemoryTransport => _shm;

    /// <summary>The writer of descriptor frames, when shared memory is on.</summary>
    internal SharedMemoryFrameWriter? SharedWriter => _writer.Shared;

    /// <summary>
    /// Creates a message of <paramref name="length"/> bytes to fill in place and send (docs/shared-memory.md §6). With
    /// shared memory on and a length at or above <see cref="SharedMemoryOptions.MinPayloadLength"/>, its memory is a slot
    /// of the connection's ring (§8; waiting, if the ring is full, until the peer has read enough) or, for a payload
    /// larger than the ring or while another created message is unsent, a shared-memory file of its own on Linux (inline
    /// on Windows, §9), so the payload is never copied; otherwise it is a pooled buffer sent inline. Dispose the message (sent or not) to release it; one
    /// disposed of unsent sends nothing.
    /// </summary>
    /// <param name="length">The payload's length in bytes.</param>
    /// <param name="cancellationToken">Ends the wait for room in the ring.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    /// <exception cref="FrameTooLargeException"><paramref name="length"/> exceeds the maximum payload.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for room in the ring.</exception>
    /// <exception cref="SharedMemoryException">The peer corrupted the ring's control page (the connection is closed).</exception>
    /// <exception cref="IOException">The system refused to create the shared-memory file (out of memory or descriptors).</exception>
    public OutgoingMessage CreateMessage(int length, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        FrameCodec.CheckPayloadLength(length, Options.Frame);
        ThrowIfClosed();
        if (!UsesSharedMemory(length))
        {
            return new OutgoingMessage(this, null, ArrayPool<byte>.Shared.Rent(length), length);
        }
        SharedMemoryFrameWriter writer = SharedWriter!;
        if (!writer.Ring.TryReserve(length))
        {
            return _shm!.Files is { } files
                ? new OutgoingMessage(this, files.CreateFile(length), null, length)
                : new OutgoingMessage(this, null, ArrayPool<byte>.Shared.Rent(length), length);
        }
        try
        {
            long position = writer.Ring.Place(length);
            Messaging.SyncTwin.Wait(writer.WaitForRoomAsync(position, length, sync: true, cancellationToken));
            return new OutgoingMessage(this, writer.Ring, position, length);
        }
        catch (Exception e)
        {
            writer.Ring.Release();
            if (e is SharedMemoryException)
            {
                Close(DisconnectReason.ProtocolError);
            }
            else if (e is ObjectDisposedException)
            {
                throw ClosedException();
            }
            throw;
        }
    }

    /// <summary>Sends a message made by <see cref="CreateMessage"/>: its ring slot (at <paramref name="position"/>) or file through shared memory, or its buffer inline.</summary>
    internal ValueTask SendCreatedAsync(OutgoingSharedFile? file, long position, int length, ReadOnlyMemory<byte> buffer, bool sync, CancellationToken cancellationToken) =>
        position >= 0
            ? SendRingSlotAsync(position, length, sync, cancellationToken)
            : SendCoreAsync(buffer, null, push: false, sync, cancellationToken, file);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendRingSlotAsync(long position, int length, bool sync, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        SharedMemoryFrameWriter writer = SharedWriter!;
        uint crc = Options.Frame.Crc ? FrameCodec.ComputeCrc(writer.Ring.Slot(position, length).Span) : 0;
        await SendCoreAsync(default, null, push: false, sync, cancellationToken, null, (position, length, crc)).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether a payload of <paramref name="length"/> bytes goes through shared memory: at or above the threshold, and,
    /// where no file can carry it (§9), no larger than the ring.
    /// </summary>
    private bool UsesSharedMemory(int length) =>
        SharedWriter is { } writer && length >= writer.Options.MinPayloadLength && (length <= writer.Ring.Capacity || _shm!.Files is not null);

    /// <summary>The payload's length when it goes through shared memory, else 0.</summary>
    private int SharedLength(ReadOnlyMemory<byte> payload, string? text)
    {
        if (_shm is null)
        {
            return 0;
        }
        int length = text is null ? payload.Length : FrameCodec.GetByteCount(text, Options.Frame);
        return UsesSharedMemory(length) ? length : 0;
    }

    /// <summary>
    /// Sends a created message's ring <paramref name="slot"/> or <paramref name="file"/> (already written in place), or
    /// the payload or text: into a slot of the ring when it fits and the ring is free (§8), else into a new file (the
    /// payload with pwrite: faster than through a mapping) where files travel. False when it did not go (no file can
    /// carry it, §9): the caller sends it inline.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendSharedAsync(OutgoingSharedFile? file, (long Position, int Length, uint Crc)? slot, ReadOnlyMemory<byte> payload, string? text, bool sync, CancellationToken cancellationToken)
    {
        SharedMemoryFrameWriter writer = SharedWriter!;
        if (slot is { } s)
        {
            await writer.WriteRingAsync(default, null, s.Position, s.Length, s.Crc, Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            Telemetry.SentShared(s.Length);
            return true;
        }
        int length = text is null ? payload.Length : FrameCodec.GetByteCount(text, Options.Frame);
        FrameCodec.CheckPayloadLength(length, Options.Frame);
        if (file is null && writer.Ring.TryReserve(length))
        {
            try
            {
                await writer.WriteRingAsync(payload, text, -1, length, 0, Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                writer.Ring.Release();
            }
            Telemetry.SentShared(length);
            return true;
        }
        if (_shm!.Files is null)
        {
            return false;
        }
        bool owned = file is null;
        uint crc;
        if (file is null && text is null)
        {
            crc = Options.Frame.Crc ? FrameCodec.ComputeCrc(payload.Span) : 0;
            file = _shm.Files.CreateFile(payload.Span);
        }
        else
        {
            file ??= NewTextFile(text!);
            length = file.GetSpan().Length;
            crc = Options.Frame.Crc ? FrameCodec.ComputeCrc(file.GetSpan()) : 0;
        }
        try
        {
            await writer.WriteAsync(file, length, crc, Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            Telemetry.SentShared(length);
            return true;
        }
        finally
        {
            if (owned)
            {
                ((IDisposable)file).Dispose();
            }
        }
    }

    /// <summary>A new file holding the text in the connection's encoding.</summary>
    private OutgoingSharedFile NewTextFile(string text)
    {
        int length = FrameCodec.GetByteCount(text, Options.Frame);
        FrameCodec.CheckPayloadLength(length, Options.Frame);
        OutgoingSharedFile file = _shm!.Files!.CreateFile(length);
        Options.Frame.Encoding.GetBytes(text, file.GetSpan());
        return file;
    }

    /// <summary>The connection's shared memory, or null when the options leave it off; refuses (disposing the stream) where the transport has none (§7).</summary>
    /// <exception cref="PlatformNotSupportedException">Shared memory is on but the transport has none.</exception>
    private static ISharedMemoryTransport? SharedMemoryOf(ITransportStream? transport, NPipesOptions options, Stream stream)
    {
        if (options.SharedMemory is null)
        {
            return null;
        }
        if (transport?.SharedMemory is { } shm)
        {
            return shm;
        }
        stream.Dispose();
        throw Unavailable(PlatformName(transport));
    }

    /// <summary>Refuses shared memory up front where no connection could have it (a server checks before it listens).</summary>
    /// <exception cref="PlatformNotSupportedException">Shared memory is on, and this is neither Windows nor Linux in the net10.0 build.</exception>
    internal static void ThrowIfNoSharedMemory(NPipesOptions options)
    {
#if NET
        bool built = OperatingSystem.IsLinux() || OperatingSystem.IsWindows();
#else
        bool built = OperatingSystem.IsWindows(); // the Linux side (memfd over a Unix socket) is in the net10.0 build only
#endif
        if (options.SharedMemory is not null && !built)
        {
            throw Unavailable(SystemName());
        }
    }

    private static PlatformNotSupportedException Unavailable(string platform) => new(
        $"Shared memory (NPipesOptions.SharedMemory) is not available on {platform}: it needs a named pipe on Windows, or a Unix socket on Linux in the net10.0 build (docs/shared-memory.md §7). Leave the option off there.");

    private static string PlatformName(ITransportStream? transport) => transport is null ? "a stream that is not a pipe" : SystemName();

    private static string SystemName() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "Windows"
        : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "macOS"
        : RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "Linux in the netstandard2.0 build"
        : RuntimeInformation.OSDescription;
}
