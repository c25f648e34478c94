using System.Buffers;
using NPipes.Transport;

namespace NPipes.Messaging;

// Receiving ring slots (docs/shared-memory.md §8): the ring arrives with its first frame (Linux) or a kind-3 frame of its
// own (Windows, §9); every slot is checked against the ring and the previous slot before anything is read, then copied
// out into this side's own memory, checked there, and released to the sender by storing consumed.
internal sealed partial class FrameReader
{
    private IncomingRing? _ring;
    private long _ringEnd; // the end of the last slot copied out: the next slot starts at or after it

    /// <summary>
    /// The kind-2 frame that started at <paramref name="frameStart"/> (its 48 bytes consumed): its payload copied out of
    /// the ring into <paramref name="destination"/>, or into a pooled array the frame owns.
    /// </summary>
    /// <exception cref="SharedMemoryException">The frame, the ring or the slot breaks a rule of §8, or the copy's CRC does not match.</exception>
    private Frame ReadRing(long frameStart, SharedMemoryDescriptor descriptor, FrameOptions options, IBufferWriter<byte>? destination)
    {
        if (descriptor.CarriesRing)
        {
            AttachRing(frameStart, descriptor);
        }
        else
        {
            // A file that came with this frame's bytes belongs to no descriptor frame (§4.1).
            _files?.CheckNoStrayFile(_files.Received - (_end - _start));
        }
        IncomingRing ring = _ring ?? throw RefuseRing("Refused a shared-memory ring slot: no ring has been set up on this connection.");
        long capacity = ring.Capacity;
        long limit = Math.Min(options.MaxPayloadLength, capacity);
        if (descriptor.Length > limit)
        {
            throw RefuseRing($"Refused a shared-memory ring slot of {descriptor.Length} bytes: the limit is {limit} (FrameOptions.MaxPayloadLength, and the ring's capacity).");
        }
        long position = descriptor.Position;
        if (position < _ringEnd || position - _ringEnd >= capacity)
        {
            throw RefuseRing($"Refused a shared-memory ring slot at position {position}: the previous slot ended at {_ringEnd}, and a slot starts at or after it and less than the capacity ({capacity}) beyond.");
        }
        int offset = (int)(position % capacity);
        int length = (int)descriptor.Length;
        if (offset + length > capacity)
        {
            throw RefuseRing($"Refused a shared-memory ring slot of {length} bytes at offset {offset}: it runs past the end of the ring ({capacity} bytes).");
        }
        byte[]? pooled = destination is null ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> copy = pooled is not null ? pooled.AsSpan(0, length) : destination!.GetSpan(length)[..length];
        // The CRC is computed over this side's copy: what is checked is what is returned, whatever the sender does to its
        // slot meanwhile (§8 Why a copy).
        uint actual = FrameCrc.CopyAndCompute(ring.Data.Slice(offset, length), copy, options.Crc);
        if (options.Crc && actual != descriptor.PayloadCrc)
        {
            if (pooled is not null)
            {
                ArrayPool<byte>.Shared.Return(pooled);
            }
            throw new SharedMemoryException("Refused a shared-memory ring slot whose CRC-32 does not match its descriptor.", new CrcMismatchException(descriptor.PayloadCrc, actual));
        }
        _ringEnd = position + length;
        ring.StoreConsumed((ulong)_ringEnd);
        destination?.Advance(length);
        return new Frame(pooled, length, descriptor.PayloadCrc);
    }

    /// <summary>Attaches the peer's ring (§8: with its first slot's frame; §9: a kind-3 frame); a second one is refused.</summary>
    /// <exception cref="SharedMemoryException">A ring is attached already, or a check of the transport's failed.</exception>
    private void AttachRing(long frameStart, SharedMemoryDescriptor descriptor)
    {
        if (_ring is not null)
        {
            throw RefuseRing("Refused a second shared-memory ring: a connection has one per direction.");
        }
        _ring = _shm!.TakeRing(frameStart, descriptor);
    }

    /// <summary>A refusal of §8; the files queued are closed with it.</summary>
    private SharedMemoryException RefuseRing(string message)
    {
        _files?.CloseQueuedFiles();
        return new SharedMemoryException(message);
    }
}
