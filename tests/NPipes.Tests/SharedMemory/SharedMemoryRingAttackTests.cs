using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using NPipes.Tests.Messaging;
using NPipes.Transport;

namespace NPipes.Tests.SharedMemory;

/// <summary>
/// A raw sender breaks the rules of the ring (docs/shared-memory.md §8): every such frame is refused with a typed error
/// naming the check, before anything is read from the ring, and no received descriptor is left open.
/// </summary>
[SupportedOSPlatform("linux")] // each test skips elsewhere (ShmPeers.SocketPair)
[Collection(SharedMemoryCollection.Name)]
public sealed class SharedMemoryRingAttackTests
{
    private const long Capacity = 64 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly NPipesOptions Options = ShmPeers.Options(limit: 1024 * 1024);
    private static readonly byte[] Payload = RandomNumberGenerator.GetBytes(10_000);

    /// <summary>
    /// A receiver gets a ring file made by <paramref name="makeRing"/> with a first frame, then <paramref name="frames"/>
    /// (each a plain send); the last must be refused saying <paramref name="says"/>, and the messages before it arrive.
    /// </summary>
    private static async Task AttackAsync(string says, Func<int> makeRing, params byte[][] frames)
    {
        int ring = makeRing();
        int before = ShmPeers.FdsLike(ring);
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        try
        {
            using (attacker)
            await using (PipeConnection receiver = ShmPeers.Connection(victim, Options))
            {
                if (frames.Length > 0) // a ring that is refused may be too small to write into
                {
                    RingPeer.Write(ring, 0, Payload);
                    RingPeer.Write(ring, 10_000, Payload);
                }
                ShmPeers.SendWithFds(attacker, RingPeer.Frame(Payload, 0, Options.Frame, SharedMemoryDescriptor.FlagRingFile), ring);
                foreach (byte[] frame in frames)
                {
                    ShmPeers.SendWithFds(attacker, frame);
                }
                for (int i = 0; i < frames.Length; i++)
                {
                    (await receiver.ReceiveAsync(Ct).Within())!.Dispose();
                }
                var error = await Assert.ThrowsAsync<SharedMemoryException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
                Assert.Contains(says, error.Message, StringComparison.Ordinal);
                Assert.Equal(DisconnectReason.ProtocolError, receiver.DisconnectReason);
            }
            Assert.Equal(before, ShmPeers.FdsLike(ring)); // the receiver's copy is closed
        }
        finally
        {
            ShmPeers.Close(ring);
        }
    }

    private static Task RefusedRingAsync(string says, Func<int> makeRing) => AttackAsync(says, makeRing);

    private static int GoodRing() => RingPeer.RingFile(Capacity);

    private static byte[] Slot(long position, long? length = null, uint flags = 0) => RingPeer.Frame(Payload, position, Options.Frame, flags, length);

    [Fact]
    public async Task A_well_formed_ring_is_accepted() =>
        await AttackAsync("the previous slot ended at 20000", GoodRing, Slot(10_000), Slot(10_000));

    [Fact]
    public async Task A_ring_slot_before_any_ring_is_refused()
    {
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        using (attacker)
        await using (PipeConnection receiver = ShmPeers.Connection(victim, Options))
        {
            ShmPeers.SendWithFds(attacker, Slot(0));
            var error = await Assert.ThrowsAsync<SharedMemoryException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
            Assert.Contains("no ring has been set up", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_kind_3_attach_frame_is_refused_on_Linux()
    {
        // Kind 3 is Windows's (docs/shared-memory.md §9): here the ring's file comes with its first slot's frame.
        byte[] attach = new byte[SharedMemoryDescriptor.FrameLength];
        SharedMemoryDescriptor.WriteFrame(attach, new SharedMemoryDescriptor(RingPeer.Control + Capacity, 0, SharedMemoryDescriptor.KindAttach, Position: 0x40), Options.Frame);
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        using (attacker)
        await using (PipeConnection receiver = ShmPeers.Connection(victim, Options))
        {
            ShmPeers.SendWithFds(attacker, attach);
            var error = await Assert.ThrowsAsync<SharedMemoryException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
            Assert.Contains("kind 3", error.Message, StringComparison.Ordinal);
            Assert.Equal(DisconnectReason.ProtocolError, receiver.DisconnectReason);
        }
    }

    [Fact]
    public async Task A_second_ring_is_refused()
    {
        int second = GoodRing();
        int before = ShmPeers.FdsLike(second);
        try
        {
            int first = GoodRing();
            (Socket attacker, Socket victim) = ShmPeers.SocketPair();
            using (attacker)
            await using (PipeConnection receiver = ShmPeers.Connection(victim, Options))
            {
                RingPeer.Write(first, 0, Payload);
                ShmPeers.SendWithFds(attacker, Slot(0, flags: SharedMemoryDescriptor.FlagRingFile), first);
                ShmPeers.Close(first);
                (await receiver.ReceiveAsync(Ct).Within())!.Dispose();
                ShmPeers.SendWithFds(attacker, Slot(10_000, flags: SharedMemoryDescriptor.FlagRingFile), second);
                var error = await Assert.ThrowsAsync<SharedMemoryException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
                Assert.Contains("second shared-memory ring", error.Message, StringComparison.Ordinal);
            }
            Assert.Equal(before, ShmPeers.FdsLike(second));
        }
        finally
        {
            ShmPeers.Close(second);
        }
    }

    [Fact]
    public async Task An_unsealed_ring_is_refused() =>
        await RefusedRingAsync("not sealed against shrinking and growing", () => RingPeer.RingFile(Capacity, seals: 0));

    [Fact]
    public async Task A_ring_that_is_not_a_memfd_is_refused()
    {
        string path = Path.Combine(Path.GetTempPath(), "npipes-ring-" + Guid.NewGuid().ToString("N"));
        try
        {
            await RefusedRingAsync("not a sealable memfd", () =>
            {
                using (FileStream file = File.Create(path))
                {
                    file.SetLength(RingPeer.Control + Capacity);
                }
                return RingPeer.Open(path);
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(RingPeer.Control + 5000L)]                // capacity not a multiple of 4096
    [InlineData(RingPeer.Control)]                        // capacity 0
    [InlineData(100L)]                                    // smaller than the control page
    [InlineData(RingPeer.Control + (1L << 30) + 4096)]    // over 1 GiB
    public async Task A_ring_of_the_wrong_size_is_refused(long size) =>
        await RefusedRingAsync($"ring file of {size} bytes", () => RingPeer.RingFile(Capacity, size: size));

    [Fact]
    public async Task A_slot_that_goes_backwards_is_refused() =>
        await AttackAsync("at position 5000: the previous slot ended at 10000", GoodRing, Slot(5000));

    [Fact]
    public async Task A_slot_that_jumps_a_whole_capacity_is_refused() =>
        await AttackAsync($"at position {10_000 + Capacity}: the previous slot ended at 10000", GoodRing, Slot(10_000 + Capacity));

    [Fact]
    public async Task A_slot_that_wraps_is_refused() =>
        await AttackAsync("runs past the end of the ring", GoodRing, Slot(Capacity - 100));

    [Fact]
    public async Task A_slot_longer_than_the_ring_is_refused() =>
        await AttackAsync("the limit is 65536", GoodRing, Slot(Capacity, length: Capacity + 1));

    [Fact]
    public async Task A_slot_longer_than_the_receivers_limit_is_refused()
    {
        int ring = RingPeer.RingFile(4 * 1024 * 1024);
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        try
        {
            using (attacker)
            await using (PipeConnection receiver = ShmPeers.Connection(victim, ShmPeers.Options(limit: 100_000)))
            {
                ShmPeers.SendWithFds(attacker, Slot(0, length: 200_000, flags: SharedMemoryDescriptor.FlagRingFile), ring);
                var error = await Assert.ThrowsAsync<SharedMemoryException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
                Assert.Contains("the limit is 100000", error.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            ShmPeers.Close(ring);
        }
    }

    [Fact]
    public async Task Flags_that_kind_2_does_not_know_are_refused() =>
        await AttackAsync("kind 2 does not allow position 10000 with flags 0x2", GoodRing, Slot(10_000, flags: 2));

    [Fact]
    public async Task A_sender_that_scribbles_on_its_slot_spoils_only_the_next_message_and_not_one_returned()
    {
        int ring = GoodRing();
        (Socket attacker, Socket victim) = ShmPeers.SocketPair();
        try
        {
            using (attacker)
            await using (PipeConnection receiver = ShmPeers.Connection(victim, Options))
            {
                RingPeer.Write(ring, 0, Payload);
                ShmPeers.SendWithFds(attacker, RingPeer.Frame(Payload, 0, Options.Frame, SharedMemoryDescriptor.FlagRingFile), ring);
                using PipeMessage returned = (await receiver.ReceiveAsync(Ct).Within())!;
                RingPeer.Write(ring, 0, new byte[Payload.Length]); // after sending: the returned copy stays as it was
                Assert.True(Payload.AsSpan().SequenceEqual(returned.Payload.Span));
                // The next slot is announced with the CRC of what was written, then changed before the receiver reads it.
                RingPeer.Write(ring, 10_000, Payload);
                byte[] frame = Slot(10_000);
                RingPeer.Write(ring, 10_000 + 5, [0xFF, 0x00, 0xFF]);
                ShmPeers.SendWithFds(attacker, frame);
                var error = await Assert.ThrowsAsync<SharedMemoryException>(() => receiver.ReceiveAsync(Ct).AsTask().Within());
                Assert.IsType<CrcMismatchException>(error.InnerException);
                Assert.True(Payload.AsSpan().SequenceEqual(returned.Payload.Span));
            }
        }
        finally
        {
            ShmPeers.Close(ring);
        }
    }
}
