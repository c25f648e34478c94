using System.Runtime.Versioning;
using System.Security.Cryptography;
using NPipes.Tests.Messaging;

namespace NPipes.Tests.SharedMemory;

/// <summary>Large messages through shared memory between two library connections (docs/shared-memory.md).</summary>
[SupportedOSPlatform("linux")] // each test skips elsewhere (ShmPeers.SocketPair)
[Collection(SharedMemoryCollection.Name)]
public class SharedMemoryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const int Min = SharedMemoryOptions.DefaultMinPayloadLength;

    [Theory]
    [InlineData(true, ByteOrder.BigEndian)]
    [InlineData(true, ByteOrder.LittleEndian)]
    [InlineData(false, ByteOrder.BigEndian)]
    [InlineData(false, ByteOrder.LittleEndian)]
    public async Task Payloads_below_the_threshold_go_inline_and_at_or_above_it_through_shared_memory(bool crc, ByteOrder order)
    {
        NPipesOptions options = ShmPeers.Options(crc, order);
        await using ConnectionPair pair = ShmPeers.Pair(options);
        (PipeConnection sender, PipeConnection receiver) = pair;
        int[] sizes = [1, Min - 1, Min, Min + 1, 1024 * 1024 + 3, Min - 1, 5];
        int[] filesAfter = [0, 0, 1, 1, 1, 1, 1]; // one ring (§8), created by the first shared-memory message
        for (int i = 0; i < sizes.Length; i++)
        {
            byte[] payload = RandomNumberGenerator.GetBytes(sizes[i]);
            await sender.SendAsync(payload, Ct);
            Assert.Equal(filesAfter[i], ShmPeers.FilesCreated(sender));
            using PipeMessage message = (await receiver.ReceiveAsync(Ct).Within())!;
            Assert.True(payload.AsSpan().SequenceEqual(message.Payload.Span), $"payload {i} of {sizes[i]} bytes");
            Assert.Equal(crc ? FrameCodec.ComputeCrc(payload) : 0, message.Crc);
        }
    }

    [Fact]
    public async Task Inline_and_shared_memory_frames_sent_back_to_back_arrive_in_order()
    {
        // Small frames queued ahead of a descriptor frame reach the receiver in the same read as the descriptor's file:
        // the file is still the descriptor's, not a stray one.
        NPipesOptions options = ShmPeers.Options();
        await using ConnectionPair pair = ShmPeers.Pair(options);
        (PipeConnection sender, PipeConnection receiver) = pair;
        var payloads = new List<byte[]>();
        for (int i = 0; i < 60; i++)
        {
            payloads.Add(RandomNumberGenerator.GetBytes(i % 3 == 2 ? Min + i : 10 + i));
        }
        Task sending = Task.Run(async () =>
        {
            foreach (byte[] payload in payloads)
            {
                await sender.SendAsync(payload, Ct);
            }
            await sender.FlushAsync(Ct);
        }, Ct);
        foreach (byte[] payload in payloads)
        {
            using PipeMessage message = (await receiver.ReceiveAsync(Ct).Within())!;
            Assert.True(payload.AsSpan().SequenceEqual(message.Payload.Span));
        }
        await sending.Within();
        Assert.Equal(1, ShmPeers.FilesCreated(sender)); // the ring
    }

    [Fact]
    public async Task Sixteen_MiB_round_trips_with_a_raised_limit_and_synchronous_calls()
    {
        NPipesOptions options = ShmPeers.Options(limit: 32 * 1024 * 1024);
        await using ConnectionPair pair = ShmPeers.Pair(options);
        (PipeConnection sender, PipeConnection receiver) = pair;
        byte[] payload = RandomNumberGenerator.GetBytes(16 * 1024 * 1024);
        sender.Send(payload);
        using PipeMessage message = receiver.Receive()!;
        Assert.True(payload.AsSpan().SequenceEqual(message.Payload.Span));
        Assert.Equal(1, ShmPeers.FilesCreated(sender));
    }

    [Fact]
    public async Task A_created_message_is_written_in_place_and_one_disposed_unsent_sends_nothing()
    {
        NPipesOptions options = ShmPeers.Options();
        await using ConnectionPair pair = ShmPeers.Pair(options);
        (PipeConnection sender, PipeConnection receiver) = pair;
        using (OutgoingMessage abandoned = sender.CreateMessage(Min, Ct))
        {
            Assert.True(abandoned.IsSharedMemory);
            abandoned.Span.Fill(0xEE);
        }
        using (OutgoingMessage small = sender.CreateMessage(100, Ct))
        {
            Assert.False(small.IsSharedMemory);
            small.Span.Fill(7);
            await small.SendAsync(Ct);
            Assert.Throws<ObjectDisposedException>(() => small.Span.Length);
        }
        byte[] expected = RandomNumberGenerator.GetBytes(3 * Min);
        using (OutgoingMessage large = sender.CreateMessage(expected.Length, Ct))
        {
            expected.CopyTo(large.Span);
            large.Send();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => large.SendAsync(Ct).AsTask());
        }
        using (PipeMessage first = (await receiver.ReceiveAsync(Ct).Within())!)
        {
            Assert.Equal(100, first.Length);
            Assert.All(first.ToArray(), b => Assert.Equal(7, b));
        }
        using PipeMessage second = (await receiver.ReceiveAsync(Ct).Within())!;
        Assert.True(expected.AsSpan().SequenceEqual(second.Payload.Span));
        Assert.Equal(1, ShmPeers.FilesCreated(sender)); // the ring: both large messages were slots of it
    }

    [Fact]
    public async Task A_server_that_watches_its_clients_serves_shared_memory_requests()
    {
        // With an idle timeout the server reads through its watching stream: the waits for a descriptor frame go there too.
        string name = TestPipes.NewName();
        NPipesOptions options = ShmPeers.Options();
        (PipeServer server, Task running) = Servers.StartEcho(name, new PipeServerOptions { Connection = options, IdleTimeout = TestPipes.Patience });
        await using (server)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, options, Ct);
            foreach (int size in new[] { Min, 10, 5 * Min })
            {
                byte[] payload = RandomNumberGenerator.GetBytes(size);
                using PipeMessage reply = await client.RequestAsync(payload, Ct).Within();
                Assert.True(payload.AsSpan().SequenceEqual(reply.Payload.Span));
            }
            Assert.Equal(1, ShmPeers.FilesCreated(client)); // the ring
        }
        await running.Within();
    }

    [Fact]
    public async Task A_side_without_shared_memory_refuses_the_descriptor_frame_and_says_why()
    {
        await using ConnectionPair pair = ShmPeers.Pair(ShmPeers.Options(), Servers.Crc());
        (PipeConnection sender, PipeConnection receiver) = pair;
        await sender.SendAsync(new byte[Min], Ct);
        FrameException error = await Assert.ThrowsAnyAsync<FrameException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
        Assert.Contains("shared-memory", error.Message, StringComparison.Ordinal);
        Assert.Equal(DisconnectReason.ProtocolError, receiver.DisconnectReason);
    }

    [Fact]
    public async Task Receiving_shared_memory_messages_allocates_nothing_per_message_but_the_message_object()
    {
        NPipesOptions options = ShmPeers.Options();
        await using ConnectionPair pair = ShmPeers.Pair(options);
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
        for (int i = 0; i < 20; i++)
        {
            receiver.Receive()!.Dispose(); // warm-up: pools filled, code jitted
        }
        long received = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Count; i++)
        {
            using PipeMessage message = receiver.Receive()!;
            received += message.Payload.Span[^1] + message.Length;
        }
        long perMessage = (GC.GetAllocatedBytesForCurrentThread() - before) / Count;
        Assert.Equal(Count * (payload[^1] + (long)payload.Length), received);
        await sending.Within();
        // The PipeMessage object itself (about 48 bytes) is all: the payload is copied out of the ring into a pooled array.
        Assert.True(perMessage <= 64, $"{perMessage} bytes allocated per 1 MiB message received");
    }

    [Fact]
    public async Task Receive_into_a_buffer_writer_copies_the_payload_out_of_the_mapping()
    {
        NPipesOptions options = ShmPeers.Options();
        await using ConnectionPair pair = ShmPeers.Pair(options);
        (PipeConnection sender, PipeConnection receiver) = pair;
        byte[] payload = RandomNumberGenerator.GetBytes(Min * 2);
        await sender.SendAsync(payload, Ct);
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.Equal(payload.Length, await receiver.ReceiveIntoAsync(writer, Ct).Within());
        Assert.True(payload.AsSpan().SequenceEqual(writer.WrittenSpan));
    }
}
