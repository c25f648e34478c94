using System.Buffers;
using System.Runtime.CompilerServices;
using NPipes.Transport;

namespace NPipes.Messaging;

// Reading with shared memory on (docs/shared-memory.md §4): every read is the transport's recvmsg (files arrive with the
// bytes), a descriptor frame's header is recognised, and its file is checked and mapped read-only.
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
        long limit = Math.Min(options.MaxPayloadLength, Array.MaxLength);
        if (descriptor.Length > limit)
        {
            throw new SharedMemoryException($"Refused a shared-memory payload of {descriptor.Length} bytes: the limit is {limit} (FrameOptions.MaxPayloadLength).");
        }
        if (descriptor.Kind == SharedMemoryDescriptor.KindRing)
        {
            Frame frame = ReadRing(frameStart, descriptor, options, destination);
            InFrame = false;
            _large = false;
            Volatile.Write(ref _frameStarted, 0);
            return frame;
        }
        int length = (int)descriptor.Length;
        SharedMemoryView view = _shm!.TakeFile(frameStart, length);
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
            InFrame = false;
            _large = false;
            Volatile.Write(ref _frameStarted, 0);
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
            int n = _shm!.TryReceiveWithFiles(first.Span, second.Span);
            if (n >= 0)
            {
                return n;
            }
            if (sync)
            {
                _shm.WaitReadable();
            }
            else
            {
                await _stream.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
