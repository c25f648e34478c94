using System.IO.Pipes;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using NPipes.Tests.Messaging;
using NPipes.Transport;

namespace NPipes.Tests.SharedMemory;

/// <summary>
/// A raw peer sends what a compliant sender never would (docs/shared-memory.md §4): every such transfer is refused with
/// a typed error naming the check, nothing refused is mapped, and no received descriptor is left open.
/// </summary>
[SupportedOSPlatform("linux")] // each test skips elsewhere (ShmPeers.SocketPair)
[Collection(SharedMemoryCollection.Name)]
public sealed class SharedMemoryAttackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly NPipesOptions Options = ShmPeers.Options();
    private static readonly byte[] Payload = RandomNumberGenerator.GetBytes(100_000);

    /// <summary>The receiver refuses the next message with a <see cref="SharedMemoryException"/> and closes the connection.</summary>
    private static async Task<SharedMemoryException> RefusedAsync(PipeConnection receiver, string says)
    {
        var error = await Assert.ThrowsAsync<SharedMemoryException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
        Assert.Equal(DisconnectReason.ProtocolError, receiver.DisconnectReason);
        return error;
    }

    /// <summary>Sends <paramref name="frame"/> with <paramref name="fds"/> to a fresh receiver and expects a refusal saying <paramref name="says"/>; no copy of a descriptor outlives it.</summary>
    private static async Task<SharedMemoryException> AttackAsync(byte[] frame, string says, params int[] fds)
    {
        int[] before = Array.ConvertAll(fds, ShmPeers.FdsLike);
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        using (attacker)
        await using (PipeConnection receiver = ShmPeers.Connection(victim, Options))
        {
            ShmPeers.SendWithFds(attacker, frame, fds);
            SharedMemoryException error = await RefusedAsync(receiver, says);
            Assert.Equal(before, Array.ConvertAll(fds, ShmPeers.FdsLike)); // the receiver's copies are closed
            return error;
        }
    }

    private static byte[] Descriptor(long? announced = null) => ShmPeers.DescriptorFrame(Payload, Options.Frame, announced);

    /// <summary>A descriptor frame with one 32-bit field of the descriptor replaced (the frame's CRC made right again).</summary>
    private static byte[] Patched(int offset, uint value)
    {
        byte[] frame = Descriptor();
        FrameCodec.WriteUInt32(frame.AsSpan(FrameCodec.HeaderLength + offset), value, ByteOrder.BigEndian);
        FrameCodec.WriteCrcField(frame.AsSpan(FrameCodec.HeaderLength + SharedMemoryDescriptor.DescriptorLength), FrameCodec.ComputeCrc(frame.AsSpan(FrameCodec.HeaderLength, SharedMemoryDescriptor.DescriptorLength)), ByteOrder.BigEndian);
        return frame;
    }

    private static async Task WithMemfdAsync(Func<int, Task> attack, int seals = MemfdNative.SealsAdded, long? size = null)
    {
        int fd = ShmPeers.Memfd(Payload, seals, size);
        try
        {
            await attack(fd);
        }
        finally
        {
            ShmPeers.Close(fd);
        }
    }

    [Fact]
    public async Task A_descriptor_frame_without_a_file_is_refused() =>
        await AttackAsync(Descriptor(), "without its file");

    [Fact]
    public async Task A_file_that_comes_with_an_ordinary_frame_is_refused_with_that_frame() => await WithMemfdAsync(async fd =>
    {
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        using (attacker)
        await using (PipeConnection receiver = ShmPeers.Connection(victim, Options))
        {
            ShmPeers.SendWithFds(attacker, FrameCodec.EncodeText("before", Options.Frame));
            ShmPeers.SendWithFds(attacker, FrameCodec.EncodeText("carrier", Options.Frame), fd);
            ShmPeers.SendWithFds(attacker, Descriptor());
            Assert.Equal("before", await receiver.ReceiveTextAsync(Ct).Within());
            await RefusedAsync(receiver, "arrived with a frame that is not a shared-memory descriptor frame");
            Assert.Equal(1, ShmPeers.FdsLike(fd));
        }
    });

    [Fact]
    public async Task A_file_that_comes_with_the_last_frame_before_the_end_is_refused() => await WithMemfdAsync(async fd =>
    {
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        await using PipeConnection receiver = ShmPeers.Connection(victim, Options);
        ShmPeers.SendWithFds(attacker, FrameCodec.EncodeText("carrier", Options.Frame), fd);
        attacker.Dispose();
        await RefusedAsync(receiver, "arrived with a frame that is not a shared-memory descriptor frame");
        Assert.Equal(1, ShmPeers.FdsLike(fd));
    });

    [Fact]
    public async Task Two_files_in_one_message_are_refused() => await WithMemfdAsync(fd => WithMemfdAsync(other =>
        AttackAsync(Descriptor(), "brought 2 files", fd, other)));

    [Fact]
    public async Task More_files_than_the_control_buffer_holds_are_refused() => await WithMemfdAsync(fd =>
        AttackAsync(Descriptor(), "cut short", fd, fd, fd, fd, fd, fd));

    [Fact]
    public async Task A_regular_file_is_refused()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, Payload);
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
            await AttackAsync(Descriptor(), "not a sealable memfd", (int)file.DangerousGetHandle());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_pipe_is_refused()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        await AttackAsync(Descriptor(), "not a regular file", (int)pipe.SafePipeHandle.DangerousGetHandle());
    }

    [Fact]
    public async Task A_socket_is_refused()
    {
        (Socket a, Socket b) = ShmPeers.SocketPair();
        using (a)
        using (b)
        {
            await AttackAsync(Descriptor(), "not a regular file", (int)a.Handle);
        }
    }

    [Theory]
    [InlineData(MemfdNative.SealShrink | MemfdNative.SealGrow | MemfdNative.SealSeal)] // writable
    [InlineData(MemfdNative.SealWrite | MemfdNative.SealGrow | MemfdNative.SealSeal)]  // can shrink: a mapped read could fault
    [InlineData(MemfdNative.SealWrite | MemfdNative.SealShrink)]                       // can grow
    [InlineData(0)]
    public async Task A_memfd_missing_a_seal_is_refused(int seals) => await WithMemfdAsync(fd =>
        AttackAsync(Descriptor(), "not sealed against writing, shrinking and growing", fd), seals);

    [Fact]
    public async Task A_file_whose_size_is_not_the_announced_length_is_refused() => await WithMemfdAsync(fd =>
        AttackAsync(Descriptor(), $"of {Payload.Length + 1} bytes: its descriptor announced {Payload.Length}", fd), size: Payload.Length + 1);

    [Fact]
    public async Task A_length_over_the_receivers_limit_is_refused_before_the_file_is_looked_at() => await WithMemfdAsync(fd =>
        AttackAsync(Descriptor(announced: 1L << 30), "the limit is 16777216", fd));

    [Theory]
    [InlineData(0, 2u, "version 2")]
    [InlineData(4, 7u, "kind 7")]
    [InlineData(24, 1u, "kind 1 does not allow position 1 with flags 0x0")]
    [InlineData(28, 0x1u, "kind 1 does not allow position 0 with flags 0x1")]
    public async Task A_malformed_descriptor_is_refused(int offset, uint value, string says) => await WithMemfdAsync(fd =>
        AttackAsync(Patched(offset, value), says, fd));

    [Fact]
    public async Task A_descriptor_frame_of_another_length_is_refused()
    {
        byte[] frame = new byte[FrameCodec.Overhead + 36];
        FrameCodec.WriteUInt32(frame, (36 + 8) ^ SharedMemoryDescriptor.DescriptorFlag, ByteOrder.BigEndian);
        FrameCodec.WriteUInt32(frame.AsSpan(4), 36, ByteOrder.BigEndian);
        await AttackAsync(frame, "DataLength is 36");
    }

    [Fact]
    public async Task A_payload_whose_crc_differs_from_the_descriptors_is_refused() => await WithMemfdAsync(async fd =>
    {
        SharedMemoryException error = await AttackAsync(Patched(16, FrameCodec.ComputeCrc(Payload) ^ 1), "CRC-32 does not match", fd);
        Assert.IsType<CrcMismatchException>(error.InnerException);
    });

    [Fact]
    public void Once_sealed_the_senders_file_can_be_neither_written_nor_resized()
    {
        using var file = MemfdFile.Create(4096);
        file.GetSpan().Fill(1);
        int fd = file.Descriptor;
        Assert.True(ShmPeers.CanWrite(fd));
        file.Seal();
        Assert.False(ShmPeers.CanWrite(fd));
        Assert.NotEqual(0, MemfdNative.ftruncate(fd, 1));
        Assert.NotEqual(0, MemfdNative.ftruncate(fd, 8192));
        Assert.Equal(MemfdNative.MapFailed, MemfdNative.mmap(0, 4096, MemfdNative.ProtRead | MemfdNative.ProtWrite, MemfdNative.MapShared, fd, 0));
        Assert.NotEqual(0, MemfdNative.fcntl(fd, MemfdNative.FAddSeals, 0)); // F_SEAL_SEAL: no seal can be removed or added
        Assert.Throws<ObjectDisposedException>(() => file.GetSpan().Length);

        using var written = MemfdFile.CreateFrom(Payload); // the pwrite path of SendAsync(payload)
        Assert.True(ShmPeers.CanWrite(written.Descriptor));
        written.Seal();
        Assert.False(ShmPeers.CanWrite(written.Descriptor));
        Assert.NotEqual(0, MemfdNative.ftruncate(written.Descriptor, 1));
    }

    [Fact]
    public async Task A_receiver_that_never_reads_holds_the_sender_at_its_budget()
    {
        // A ring of 248 KiB: the 256 KiB payloads are larger, so each goes in a file of its own (kind 1), under the budget.
        var shm = new SharedMemoryOptions { MaxInFlightBytes = 250_000 };
        (Socket sender, Socket stalled) = ShmPeers.SocketPair();
        using (stalled)
        await using (PipeConnection connection = ShmPeers.Connection(sender, ShmPeers.Options(shm: shm)))
        {
            int memfds = ShmPeers.Memfds();
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            byte[] payload = new byte[256 * 1024];
            Task sending = Task.Run(async () =>
            {
                while (true)
                {
                    await connection.SendAsync(payload, cancel.Token);
                }
            }, Ct);
            await Until.TrueAsync(() => connection.SharedWriter!.BudgetWaits > 0 || sending.IsCompleted, "a send waiting at the budget");
            // One payload (over the budget alone) went; the second waits with its file made: in flight, budget plus one payload.
            Assert.Equal(2, ShmPeers.FilesCreated(connection));
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending.Within());
            Assert.True(connection.IsConnected); // a send cancelled while waiting for the budget wrote nothing
            Assert.Equal(memfds, ShmPeers.Memfds()); // the waiting file was closed; the sent ones are in the socket queue
        }
    }

    [Fact]
    public async Task No_descriptor_is_left_open_after_many_messages_both_ways()
    {
        int before = ShmPeers.Memfds();
        await using (ConnectionPair pair = ShmPeers.Pair(Options))
        {
            (PipeConnection a, PipeConnection b) = pair;
            byte[] payload = RandomNumberGenerator.GetBytes(200_000);
            for (int i = 0; i < 100; i++)
            {
                await a.SendAsync(payload, Ct);
                using PipeMessage message = (await b.ReceiveAsync(Ct).Within())!;
                await b.SendAsync(message.Payload, Ct);
                (await a.ReceiveAsync(Ct).Within())!.Dispose();
            }
            Assert.Equal(before, ShmPeers.Memfds());
        }
        Assert.Equal(before, ShmPeers.Memfds());
    }


    [Fact]
    public async Task A_peer_that_dies_mid_frame_leaves_no_descriptor_open() => await WithMemfdAsync(async fd =>
    {
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        await using PipeConnection receiver = ShmPeers.Connection(victim, Options);
        ShmPeers.SendWithFds(attacker, Descriptor().AsSpan(0, 20), fd);
        attacker.Dispose();
        await Assert.ThrowsAsync<IncompleteFrameException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
        Assert.Equal(DisconnectReason.PeerDiedMidFrame, receiver.DisconnectReason);
        Assert.Equal(1, ShmPeers.FdsLike(fd));
    });

    [Fact]
    public async Task Files_of_frames_never_read_are_closed_with_the_connection()
    {
        int before = ShmPeers.Memfds();
        (PipeConnection sender, PipeConnection receiver) = ShmPeers.Pair(Options, Options);
        await using (sender)
        {
            await using (receiver)
            {
                await sender.SendAsync(Payload, Ct);
                await sender.SendAsync(Payload, Ct);
                (await receiver.ReceiveAsync(Ct).Within())!.Dispose(); // the first; the second stays unread in the socket
            }
            Assert.Equal(before, ShmPeers.Memfds());
        }
    }

    [Fact]
    public async Task A_sender_whose_peer_has_gone_leaves_no_descriptor_open()
    {
        int before = ShmPeers.Memfds();
        (Socket sender, Socket gone) = ShmPeers.SocketPair();
        gone.Dispose();
        await using PipeConnection connection = ShmPeers.Connection(sender, Options);
        await Assert.ThrowsAsync<ConnectionClosedException>(() => connection.SendAsync(Payload, Ct).AsTask().Within());
        Assert.Equal(before, ShmPeers.Memfds());
    }
}
