using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NPipes.Messaging.Writing;
using NPipes.Transport;

namespace NPipes;

// Large payloads through shared memory (docs/shared-memory.md), when NPipesOptions.SharedMemory is set: the transport
// must offer it (else the connection is refused when made, §7); sends at or above the threshold go in a sealed file,
// CreateMessage hands out the file's memory to write in place (§6).
public sealed partial class PipeConnection
{
    private readonly ISharedMemoryTransport? _shm;

    /// <summary>The transport's shared memory when this connection has it on (tests), else null.</summary>
    internal ISharedMemoryTransport? SharedMemoryTransport => _shm;

    /// <summary>The writer of descriptor frames, when shared memory is on.</summary>
    internal SharedMemoryFrameWriter? SharedWriter => (_writer as CoalescingFrameWriter)?.Shared;

    /// <summary>
    /// Creates a message of <paramref name="length"/> bytes to fill in place and send (docs/shared-memory.md §6). With
    /// shared memory on and a length at or above <see cref="SharedMemoryOptions.MinPayloadLength"/>, its memory is the
    /// shared-memory file itself, so the payload is never copied; otherwise it is a pooled buffer sent inline. Dispose
    /// the message (sent or not) to release it; one disposed of unsent sends nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    /// <exception cref="FrameTooLargeException"><paramref name="length"/> exceeds the maximum payload.</exception>
    /// <exception cref="ConnectionClosedException">The connection is closed.</exception>
    /// <exception cref="IOException">The system refused to create the shared-memory file (out of memory or descriptors).</exception>
    public OutgoingMessage CreateMessage(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        FrameCodec.CheckPayloadLength(length, Options.Frame);
        ThrowIfClosed();
        return UsesSharedMemory(length)
            ? new OutgoingMessage(this, _shm!.CreateFile(length), null, length)
            : new OutgoingMessage(this, null, ArrayPool<byte>.Shared.Rent(length), length);
    }

    /// <summary>Sends a message made by <see cref="CreateMessage"/>: its file through shared memory, or its buffer inline.</summary>
    internal ValueTask SendCreatedAsync(OutgoingSharedFile? file, ReadOnlyMemory<byte> buffer, bool sync, CancellationToken cancellationToken) =>
        SendCoreAsync(buffer, null, push: false, sync, cancellationToken, file);

    private bool UsesSharedMemory(int length) => SharedWriter is { } writer && length >= writer.Options.MinPayloadLength;

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
    /// Sends <paramref name="file"/> (already written in place), or a new file that the payload is copied into (with
    /// pwrite: faster than through a mapping) or the text encoded into.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendSharedAsync(OutgoingSharedFile? file, ReadOnlyMemory<byte> payload, string? text, bool sync, CancellationToken cancellationToken)
    {
        bool owned = file is null;
        int length;
        uint crc;
        if (file is null && text is null)
        {
            length = payload.Length;
            FrameCodec.CheckPayloadLength(length, Options.Frame);
            crc = Options.Frame.Crc ? FrameCodec.ComputeCrc(payload.Span) : 0;
            file = _shm!.CreateFile(payload.Span);
        }
        else
        {
            file ??= NewTextFile(text!);
            length = file.GetSpan().Length;
            crc = Options.Frame.Crc ? FrameCodec.ComputeCrc(file.GetSpan()) : 0;
        }
        try
        {
            await SharedWriter!.WriteAsync(file, length, crc, Options.Frame, sync, cancellationToken).ConfigureAwait(false);
            Telemetry.SentShared(length);
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
        OutgoingSharedFile file = _shm!.CreateFile(length);
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
    /// <exception cref="PlatformNotSupportedException">Shared memory is on, and this is not Linux in the net10.0 build.</exception>
    internal static void ThrowIfNoSharedMemory(NPipesOptions options)
    {
#if NET
        bool built = OperatingSystem.IsLinux();
#else
        bool built = false;
#endif
        if (options.SharedMemory is not null && !built)
        {
            throw Unavailable(SystemName());
        }
    }

    private static PlatformNotSupportedException Unavailable(string platform) => new(
        $"Shared memory (NPipesOptions.SharedMemory) is not available on {platform}: it needs a Unix socket on Linux in the net10.0 build (docs/shared-memory.md §7). Leave the option off there.");

    private static string PlatformName(ITransportStream? transport) => transport is null ? "a stream that is not a pipe" : SystemName();

    private static string SystemName() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "Windows"
        : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "macOS"
        : RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "Linux in the netstandard2.0 build"
        : RuntimeInformation.OSDescription;
}
