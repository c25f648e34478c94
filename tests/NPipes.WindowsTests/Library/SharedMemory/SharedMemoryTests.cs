using System.Runtime.Versioning;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library.SharedMemory;

/// <summary>
/// Shared memory on Windows (docs/shared-memory.md §9) between two NPipes connections over real named pipes: the ring in
/// a section the receiver takes from the sender's process, a kind-3 frame before the first slot, inline where the ring
/// cannot take a payload.
/// </summary>
[SupportedOSPlatform("windows")]
public class SharedMemoryTests
{
    /// <summary>A 64 KiB ring, and every payload of 1 KiB or more through it.</summary>
    internal static NPipesOptions Shm(bool crc = true, long ring = Ring) => new()
    {
        Timeout = Guard,
        Frame = new FrameOptions { Crc = crc, MaxPayloadLength = 8 << 20 },
        SharedMemory = new SharedMemoryOptions { MinPayloadLength = 1024, MaxInFlightBytes = ring },
    };

    internal const int Ring = 64 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A server and a client connected to it, both with <paramref name="options"/>.</summary>
    internal static async Task<(PipeServer Server, PipeConnection Accepted, PipeConnection Client)> PairAsync(NPipesOptions options)
    {
        string name = NewName();
        PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = options });
        Task<PipeConnection> accepted = server.AcceptAsync(Ct).AsTask();
        PipeConnection client = await Within(PipeConnection.ConnectAsync(name, options, Ct));
        return (server, await Within(accepted), client);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task Messages_cycle_the_ring_several_times_and_come_back_whole(bool sync, bool crc)
    {
        Require.Windows();
        (PipeServer server, PipeConnection echo, PipeConnection client) = await PairAsync(Shm(crc));
        await using (server)
        await using (echo)
        await using (client)
        {
            byte[][] payloads = [.. Enumerable.Range(0, 48).Select(i => Payload(500 + i * 7919 % 30_000, seed: i))];
            Assert.True(payloads.Sum(p => (long)p.Length) > 8L * Ring); // the ring's pages are reused many times over
            Task echoing = sync
                ? OnThread(() => { while (echo.Receive() is { } m) using (m) echo.Send(m.Payload); })
                : Task.Run(async () => { while (await echo.ReceiveAsync(Ct) is { } m) using (m) await echo.SendAsync(m.Payload, Ct); }, Ct);
            // Sent in a burst while the replies are read: the sender waits for room in the ring, not for each reply.
            Task sending = sync
                ? OnThread(() => { foreach (byte[] p in payloads) client.Send(p); })
                : Task.Run(async () => { foreach (byte[] p in payloads) await client.SendAsync(p, Ct); }, Ct);
            foreach (byte[] expected in payloads)
            {
                using PipeMessage? back = sync ? await Within(OnThread(client.Receive)) : await Within(client.ReceiveAsync(Ct).AsTask());
                Assert.Equal(expected, back!.ToArray());
            }
            await Within(sending);
            await client.DisposeAsync();
            await Within(echoing);
        }
    }

    [Fact]
    public async Task The_ring_attaches_first_and_what_it_cannot_take_goes_inline()
    {
        Require.Windows();
        string name = NewName();
        using var raw = Server(name);
        Task waiting = OnThread(raw.WaitForConnection);
        NPipesOptions options = Shm();
        bool bigEndian = options.Frame.ByteOrder == ByteOrder.BigEndian;
        await using PipeConnection conn = await Within(PipeConnection.ConnectAsync(name, options, Ct));
        await Within(waiting);
        byte[] small = Payload(10_000, 1), large = Payload(100_000, 2), held = Payload(20_000, 3);
        Task<byte[][]> reading = OnThread(() => Enumerable.Range(0, 5).Select(_ => ReadMessage(raw)).ToArray());
        await Within(conn.SendAsync(small, Ct).AsTask());   // kind 3, then kind 2: each its own pipe message
        await Within(conn.SendAsync(large, Ct).AsTask());   // larger than the ring: inline
        using (OutgoingMessage created = conn.CreateMessage(held.Length, Ct))
        {
            Assert.True(created.IsSharedMemory);
            held.CopyTo(created.Span);
            await Within(conn.SendAsync(small, Ct).AsTask()); // the ring is held by the created message: inline
            await Within(created.SendAsync(Ct).AsTask());
        }
        byte[][] messages = await Within(reading);
        var attach = SectionPeer.Read(messages[0], bigEndian);
        Assert.Equal((SectionPeer.KindAttach, SectionPeer.Control + (long)Ring, 0u), (attach.Kind, attach.Length, attach.Flags));
        var first = SectionPeer.Read(messages[1], bigEndian);
        Assert.Equal((SectionPeer.KindRing, (long)small.Length, 0u), (first.Kind, first.Length, first.Flags));
        Assert.Equal(large, Frame.Decode(messages[2], bigEndian, crc: true));
        Assert.Equal(small, Frame.Decode(messages[3], bigEndian, crc: true));
        var last = SectionPeer.Read(messages[4], bigEndian);
        Assert.Equal((SectionPeer.KindRing, (long)held.Length, 0u), (last.Kind, last.Length, last.Flags));
        // The section, taken out of this process as a receiver would: the slots hold the payloads.
        nint section = SectionPeer.Duplicate(attach.Position);
        nint view = SectionPeer.Map(section, attach.Length);
        try
        {
            Assert.Equal(small, Slot(view, first.Position, small.Length));
            Assert.Equal(held, Slot(view, last.Position, held.Length));
        }
        finally
        {
            SectionPeer.Unmap(view);
            SectionPeer.Close(section);
        }
    }

    [Fact]
    public async Task A_message_written_in_place_goes_through_the_ring()
    {
        Require.Windows();
        (PipeServer server, PipeConnection receiver, PipeConnection sender) = await PairAsync(Shm());
        await using (server)
        await using (receiver)
        await using (sender)
        {
            foreach ((int length, bool shared) in new[] { (50_000, true), (100, false), (Ring + 1, false), (Ring, true) })
            {
                byte[] payload = Payload(length, seed: length);
                using (OutgoingMessage message = sender.CreateMessage(length, Ct))
                {
                    Assert.Equal(shared, message.IsSharedMemory);
                    payload.CopyTo(message.Span);
                    Task sent = message.SendAsync(Ct).AsTask();
                    using PipeMessage? got = await Within(receiver.ReceiveAsync(Ct).AsTask());
                    await Within(sent);
                    Assert.Equal(payload, got!.ToArray());
                }
            }
        }
    }

    [Fact]
    public async Task Requests_and_replies_each_attach_a_ring()
    {
        Require.Windows();
        (PipeServer server, PipeConnection echo, PipeConnection client) = await PairAsync(Shm());
        await using (server)
        await using (echo)
        await using (client)
        {
            int sharedReplies = 0;
            Task echoing = Task.Run(async () =>
            {
                while (await echo.ReceiveAsync(Ct) is { } request)
                {
                    using (request)
                    using (OutgoingMessage reply = echo.CreateMessage(request.Length, Ct))
                    {
                        sharedReplies += reply.IsSharedMemory ? 1 : 0;
                        request.Payload.CopyTo(reply.Memory);
                        await reply.SendAsync(Ct);
                    }
                }
            }, Ct);
            for (int i = 0; i < 10; i++)
            {
                byte[] payload = Payload(5000 + i * 3000, seed: i);
                using PipeMessage back = await Within(client.RequestAsync(payload, Ct).AsTask());
                Assert.Equal(payload, back.ToArray());
            }
            await client.DisposeAsync();
            await Within(echoing);
            Assert.Equal(10, sharedReplies);
        }
    }

    private static byte[] Slot(nint view, long position, int length) => SectionPeer.ReadAt(view, SectionPeer.Control + position % Ring, length);
}
