using System.Buffers;
using System.Runtime.CompilerServices;
using NPipes.Transport;

namespace NPipes.Messaging;

// Reading with shared memory on (docs/shared-memory.md §4, §9): a descriptor frame's header is recognised; where files
// travel every read is the transport's recvmsg (files arrive with the bytes), and a kind-1 frame's file is checked and
// mapped read-only; where they do not, the ring attaches with a kind-3 frame and kinds 1 and 2's flags bit 0 are refused.
internal sealed partial class FrameReader
{
    /// <summary>
    /// Reads the header at the read position: a descriptor frame's (only with shared memory on) or an ordinary one,
    /// validated. False while more bytes are needed.
    /// </summary>
    private bool TryReadHeader(FrameOptions options, out FrameHeader header, out bool descriptor)
    {
        ReadOnlySpan<byte> buffered = _buffer.AsSpan(_start, _end - _start);
        descriptor = false;
        if (_shm is not null)
        {
            bool? isDescriptor = SharedMemoryDescriptor.IsDescriptorHeader(buffered, options.ByteOrder);
            if (isDescriptor is not { } known)
            {
                header = default;
                return false;
            }
            if (known)
            {
                descriptor = true;
                header = new FrameHeader(FrameCodec.ReadUInt32(buffered, options.ByteOrder), SharedMemoryDescriptor.DescriptorLength);
                return true;
            }
        }
        return FrameCodec.TryReadHeader(buffered, options, out header);
    }

    /// <summary>
    /// The rest of a descriptor frame that starts at stream position <paramref name="frameStart"/>: its descriptor is
    /// validated, its file checked and mapped, the payload's CRC checked. With <paramref name="destination"/> the payload
    /// is copied there and unmapped; without, the frame carries the mapping.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Frame> ReadSharedAsync(long frameStart, FrameOptions options, IBufferWriter<byte>? destination, bool sync, CancellationToken cancellationToken)
    {
        const int FrameLength = SharedMemoryDescriptor.FrameLength;
        while (_end - _start < FrameLength)
        {
            if (!await FillAsync(sync, cancellationToken, _large ? FrameLength - (_end - _start) : int.MaxValue).ConfigureAwait(false))
            {
                throw new IncompleteFrameException(_end - _start, FrameLength);
            }
        }
        SharedMemoryDescriptor descriptor = DecodeDescriptor(options);
        _start += FrameLength;
        CheckKindCarried(descriptor);
        if (descriptor.Kind == SharedMemoryDescriptor.KindAttach)
        {
            AttachRing(frameStart, descriptor);
            EndSharedFrame();
            return new Frame(null, Frame.Attached, 0);
        }
        long limit = Math.Min(options.MaxPayloadLength, Array.MaxLength);
        if (descriptor.Length > limit)
        {
            throw new SharedMemoryException($"Refused a shared-memory payload of {descriptor.Length} bytes: the limit is {limit} (FrameOptions.MaxPayloadLength).");
        }
        if (descriptor.Kind == SharedMemoryDescriptor.KindRing)
        {
            Frame frame = ReadRing(frameStart, descriptor, options, destination);
            EndSharedFrame();
            return frame;
        }
        int length = (int)descriptor.Length;
        SharedMemoryView view = _files!.TakeFile(frameStart, length);
        try
        {
            if (options.Crc)
            {
                uint actual = FrameCodec.ComputeCrc(view.GetSpan());
                if (actual != descriptor.PayloadCrc)
                {
                    throw new SharedMemoryException("Refused a shared-memory payload whose CRC-32 does not match its descriptor.", new CrcMismatchException(descriptor.PayloadCrc, actual));
                }
            }
            EndSharedFrame();
            if (destination is null)
            {
                return new Frame(null, length, descriptor.PayloadCrc, view);
            }
            view.GetSpan().CopyTo(destination.GetSpan(length));
            destination.Advance(length);
        }
        catch
        {
            view.Release();
            throw;
        }
        view.Release();
        return new Frame(null, length, descriptor.PayloadCrc);
    }

    /// <summary>
    /// Refuses a kind this transport does not carry (§9 Kinds): files (kind 1, kind 2 with flags bit 0) only where files
    /// travel, a ring's own attach frame (kind 3) only where they do not.
    /// </summary>
    private void CheckKindCarried(SharedMemoryDescriptor descriptor)
    {
        bool files = _files is not null;
        if (!files && descriptor.Kind == SharedMemoryDescriptor.KindMemfd)
        {
            throw new SharedMemoryException("Refused a shared-memory frame of kind 1 (a file of its own): this transport carries no files (on Windows the ring is the only kind, docs/shared-memory.md §9).");
        }
        if (!files && descriptor.Kind == SharedMemoryDescriptor.KindRing && descriptor.CarriesRing)
        {
            throw new SharedMemoryException("Refused a shared-memory ring slot with flags bit 0 (the ring's file with it): this transport carries no files; a ring attaches with a frame of kind 3 of its own (docs/shared-memory.md §9).");
        }
        if (files && descriptor.Kind == SharedMemoryDescriptor.KindAttach)
        {
            _files!.CloseQueuedFiles();
            throw new SharedMemoryException("Refused a shared-memory frame of kind 3 (a Windows ring to attach): on this transport the ring's file comes with its first slot's frame (docs/shared-memory.md §8, §9).");
        }
    }

    /// <summary>A descriptor frame has been read whole.</summary>
    private void EndSharedFrame()
    {
        InFrame = false;
        _large = false;
        Volatile.Write(ref _frameStarted, 0);
    }

    /// <summary>Checks the descriptor frame's CRC field (when CRC is on) and decodes its descriptor (§2).</summary>
    private SharedMemoryDescriptor DecodeDescriptor(FrameOptions options)
    {
        ReadOnlySpan<byte> frame = _buffer.AsSpan(_start, SharedMemoryDescriptor.FrameLength);
        ReadOnlySpan<byte> descriptor = frame.Slice(FrameCodec.HeaderLength, SharedMemoryDescriptor.DescriptorLength);
        if (options.Crc)
        {
            FrameCodec.VerifyCrc(FrameCodec.ComputeCrc(descriptor), FrameCodec.ReadUInt32(frame[(FrameCodec.HeaderLength + SharedMemoryDescriptor.DescriptorLength)..], options.ByteOrder));
        }
        return SharedMemoryDescriptor.Decode(descriptor, options.ByteOrder);
    }

    /// <summary>
    /// One read through the transport's recvmsg, which queues the files that arrive: waits until something has arrived
    /// (through the stream's zero-byte read, which takes nothing, so a server's watchdog sees the wait; or poll for a
    /// synchronous read). 0: end of stream.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveSharedAsync(Memory<byte> first, Memory<byte> second, bool sync, CancellationToken cancellationToken)
    {
        while (true)
        {
            int n = _files!.TryReceiveWithFiles(first.Span, second.Span);
            if (n >= 0)
            {
                return n;
            }
            if (sync)
            {
                _files.WaitReadable();
            }
            else
            {
                await _stream.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
