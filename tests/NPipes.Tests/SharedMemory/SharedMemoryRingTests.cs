using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using NPipes.Tests.Messaging;
using NPipes.Transport;

namespace NPipes.Tests.SharedMemory;

/// <summary>The ring of docs/shared-memory.md §8 between library connections, and a library sender against a raw receiver.</summary>
[SupportedOSPlatform("linux")] // each test skips elsewhere (ShmPeers.SocketPair)
[Collection(SharedMemoryCollection.Name)]
public sealed class SharedMemoryRingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A 64 KiB ring that takes every payload of 1,000 bytes or more.</summary>
    private static readonly SharedMemoryOptions Small = new() { MinPayloadLength = 1000, MaxInFlightBytes = 64 * 1024 };

    [Theory]
    [InlineData(true, ByteOrder.BigEndian)]
    [InlineData(true, ByteOrder.LittleEndian)]
    [InlineData(false, ByteOrder.BigEndian)]
    [InlineData(false, ByteOrder.LittleEndian)]
    public async Task Many_messages_cycle_through_the_ring_past_its_end(bool crc, ByteOrder order)
    {
        await using ConnectionPair pair = ShmPeers.Pair(ShmPeers.Options(crc, order, shm: Small));
        (PipeConnection sender, PipeConnection receiver) = pair;
        var payloads = new List<byte[]>();
        for (int i = 0; i < 300; i++)
        {
            payloads.Add(RandomNumberGenerator.GetBytes(1000 + (i * 7919 % 40_000)));
        }
        Task sending = Task.Run(async () =>
        {
            foreach (byte[] payload in payloads)
            {
                await sender.SendAsync(payload, Ct);
            }
        }, Ct);
        foreach (byte[] payload in payloads)
        {
            using PipeMessage message = (await receiver.ReceiveAsync(Ct).Within())!;
            Assert.True(payload.AsSpan().SequenceEqual(message.Payload.Span));
            Assert.Equal(crc ? FrameCodec.ComputeCrc(payload) : 0, message.Crc);
        }
        await sending.Within();
        Assert.Equal(1, ShmPeers.FilesCreated(sender)); // the ring, and no file per message
        Assert.True(sender.SharedWriter!.Ring.End > 10 * sender.SharedWriter.Ring.Capacity, "the ring went round many times");
    }

    [Fact]
    public async Task A_created_message_is_a_slot_of_the_ring_and_a_payload_larger_than_the_ring_goes_in_a_file()
    {
        await using ConnectionPair pair = ShmPeers.Pair(ShmPeers.Options(shm: Small));
        (PipeConnection sender, PipeConnection receiver) = pair;
        byte[] inRing = RandomNumberGenerator.GetBytes(50_000);
        byte[] larger = RandomNumberGenerator.GetBytes(64 * 1024 + 1);
        using (OutgoingMessage message = sender.CreateMessage(inRing.Length, Ct))
        {
            Assert.True(message.IsSharedMemory);
            inRing.CopyTo(message.Span);
            // While it is unsent it holds the ring: another created message goes in a file of its own.
            using (OutgoingMessage other = sender.CreateMessage(2000, Ct))
            {
                Assert.True(other.IsSharedMemory);
                Assert.Equal(2, ShmPeers.FilesCreated(sender));
            }
            await message.SendAsync(Ct);
        }
        // Larger than the ring, and than the budget: it waits until the first has been read (§3.4).
        Task sending = sender.SendAsync(larger, Ct).AsTask();
        using (PipeMessage first = (await receiver.ReceiveAsync(Ct).Within())!)
        {
            Assert.True(inRing.AsSpan().SequenceEqual(first.Payload.Span));
        }
        using PipeMessage second = (await receiver.ReceiveAsync(Ct).Within())!;
        Assert.True(larger.AsSpan().SequenceEqual(second.Payload.Span));
        await sending.Within();
        Assert.Equal(3, ShmPeers.FilesCreated(sender)); // ring, the abandoned file, the larger payload's file
    }

    [Fact]
    public async Task Receiving_ring_slots_into_a_buffer_writer_allocates_nothing()
    {
        await using ConnectionPair pair = ShmPeers.Pair(ShmPeers.Options());
        (PipeConnection sender, PipeConnection receiver) = pair;
        const int Count = 200;
        byte[] payload = RandomNumberGenerator.GetBytes(1024 * 1024);
        Task sending = Task.Run(() =>
        {
            for (int i = 0; i < Count + 20; i++)
            {
                sender.Send(payload);
            }
        }, Ct);
        var writer = new System.Buffers.ArrayBufferWriter<byte>(2 * 1024 * 1024);
        for (int i = 0; i < 20; i++)
        {
            writer.ResetWrittenCount();
            await receiver.ReceiveIntoAsync(writer, Ct); // warm-up
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Count; i++)
        {
            writer.ResetWrittenCount();
            receiver.ReceiveInto(writer);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(payload.AsSpan().SequenceEqual(writer.WrittenSpan));
        await sending.Within();
        Assert.Equal(0, allocated / Count);
    }

    [Fact]
    public async Task Slots_wrap_to_the_next_lap_wait_for_room_and_reset_when_all_is_consumed()
    {
        NPipesOptions options = ShmPeers.Options(shm: Small);
        (Socket socket, Socket peer) = ShmPeers.SocketPair();
        using (peer)
        await using (PipeConnection sender = ShmPeers.Connection(socket, options))
        {
            await sender.SendAsync(new byte[40_000], Ct);
            (SharedMemoryDescriptor first, int fd) = RingPeer.ReadFrame(peer, options.Frame);
            Assert.True(fd >= 0 && first.CarriesRing && first.Position == 0);
            nint control = RingPeer.MapControl(fd);
            ShmPeers.Close(fd);
            try
            {
                await sender.SendAsync(new byte[20_000], Ct);
                (SharedMemoryDescriptor second, int none) = RingPeer.ReadFrame(peer, options.Frame);
                Assert.Equal((-1, 40_000L, 0u), (none, second.Position, second.Flags));
                // 10,000 more would run past the end (65,536): the slot moves to the next lap, where its first 10,000
                // bytes are still the unconsumed first slot's: the sender waits.
                Task third = sender.SendAsync(new byte[10_000], Ct).AsTask();
                await Until.TrueAsync(() => sender.SharedWriter!.RingWaits > 0 || third.IsCompleted, "a slot waiting for room");
                Assert.False(third.IsCompleted);
                RingPeer.Consume(control, 40_000);
                await third.Within();
                Assert.Equal(65_536L, RingPeer.ReadFrame(peer, options.Frame).Descriptor.Position);
                // Everything consumed: the next slot starts the next lap, on pages already in use.
                RingPeer.Consume(control, 75_536);
                await sender.SendAsync(new byte[5_000], Ct);
                Assert.Equal(131_072L, RingPeer.ReadFrame(peer, options.Frame).Descriptor.Position);
                // Nothing of this lap read yet, and the 55,536 bytes skipped to reach it hold nothing: two more slots
                // that fit the lap go at once (counting the skipped bytes as in flight would make them wait).
                long waits = sender.SharedWriter!.RingWaits;
                await sender.SendAsync(new byte[30_000], Ct).AsTask().Within();
                await sender.SendAsync(new byte[30_000], Ct).AsTask().Within();
                Assert.Equal(136_072L, RingPeer.ReadFrame(peer, options.Frame).Descriptor.Position);
                Assert.Equal(166_072L, RingPeer.ReadFrame(peer, options.Frame).Descriptor.Position);
                Assert.Equal(waits, sender.SharedWriter!.RingWaits);
            }
            finally
            {
                RingPeer.Unmap(control, RingPeer.Control);
            }
        }
    }

    [Fact]
    public async Task A_peer_that_does_not_consume_holds_the_sender_at_the_capacity_until_cancelled()
    {
        NPipesOptions options = ShmPeers.Options(shm: Small);
        (Socket socket, Socket peer) = ShmPeers.SocketPair();
        using (peer)
        await using (PipeConnection sender = ShmPeers.Connection(socket, options))
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            Task sending = Task.Run(async () =>
            {
                while (true)
                {
                    await sender.SendAsync(new byte[15_000], cancel.Token);
                }
            }, Ct);
            await Until.TrueAsync(() => sender.SharedWriter!.RingWaits > 0 || sending.IsCompleted, "a slot waiting for room");
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending.Within());
            Assert.True(sender.IsConnected); // cancelled while waiting for room: nothing of that slot was written
            long sent = sender.SharedWriter!.Ring.End;
            Assert.Equal(4 * 15_000L, sent); // four fit in 64 KiB, the fifth waited
            long end = 0;
            while (end < sent)
            {
                (SharedMemoryDescriptor slot, int fd) = RingPeer.ReadFrame(peer, options.Frame);
                ShmPeers.Close(fd);
                end = slot.Position + slot.Length;
                Assert.True(end <= Small.MaxInFlightBytes, $"a slot ends at {end}, past the capacity with nothing consumed");
            }
        }
    }

    [Theory]
    [InlineData(30_000ul, "behind the 40000")]
    [InlineData(1_000_000ul, "past the 66536 bytes sent")] // the second slot started the next lap: 65,536 + 1,000
    public async Task A_consumed_that_goes_backwards_or_past_what_was_sent_fails_the_sender(ulong consumed, string says)
    {
        NPipesOptions options = ShmPeers.Options(shm: Small);
        (Socket socket, Socket peer) = ShmPeers.SocketPair();
        using (peer)
        await using (PipeConnection sender = ShmPeers.Connection(socket, options))
        {
            await sender.SendAsync(new byte[40_000], Ct);
            (_, int fd) = RingPeer.ReadFrame(peer, options.Frame);
            nint control = RingPeer.MapControl(fd);
            ShmPeers.Close(fd);
            try
            {
                RingPeer.Consume(control, 40_000);
                await sender.SendAsync(new byte[1_000], Ct); // reads consumed: 40,000, all of it
                RingPeer.ReadFrame(peer, options.Frame);
                RingPeer.Consume(control, consumed);
                var error = await Assert.ThrowsAsync<SharedMemoryException>(() => sender.SendAsync(new byte[1_000], Ct).AsTask().Within());
                Assert.Contains(says, error.Message, StringComparison.Ordinal);
                Assert.False(sender.IsConnected);
            }
            finally
            {
                RingPeer.Unmap(control, RingPeer.Control);
            }
        }
    }

    [Fact]
    public async Task The_rings_are_unmapped_and_no_descriptor_is_left_open_when_the_connections_close()
    {
        int memfds = ShmPeers.Memfds();
        int mappings = RingPeer.MemfdMappings();
        PipeConnection sender;
        await using (ConnectionPair pair = ShmPeers.Pair(ShmPeers.Options(shm: Small)))
        {
            (sender, PipeConnection receiver) = pair;
            for (int i = 0; i < 20; i++)
            {
                await sender.SendAsync(new byte[30_000], Ct);
                await receiver.SendAsync(new byte[20_000], Ct);
                (await receiver.ReceiveAsync(Ct).Within())!.Dispose();
                (await sender.ReceiveAsync(Ct).Within())!.Dispose();
            }
            Assert.Equal(memfds, ShmPeers.Memfds()); // the rings' descriptors were closed once handed over
            Assert.Equal(mappings + 6, RingPeer.MemfdMappings()); // two rings: the sender's whole file, the receiver's data and control
        }
        Assert.False(sender.SharedWriter!.Ring.IsMapped);
        Assert.Equal(mappings, RingPeer.MemfdMappings());
        Assert.Equal(memfds, ShmPeers.Memfds());
    }
}
