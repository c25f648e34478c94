using System.Buffers;
using System.Buffers.Binary;

namespace NPipes.Tests.Messaging;

/// <summary>
/// The Unix send queue (CoalescingFrameWriter): many sends coalesced into few writes must keep every frame whole and in
/// order, be written out by FlushAsync and by disposal, and a failed background write must surface on the next call.
/// Windows writes one frame per write, so the same tests check that nothing changed there.
/// </summary>
public class CoalescingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A payload whose bytes are derived from its index, so the receiver can check content and order.</summary>
    private static byte[] Payload(int index)
    {
        int size = (index % 7) switch
        {
            0 => 0,
            1 => 1,
            2 => 64,
            3 => 1000,
            4 => 40_000,   // past the in-place threshold: written around the queue, not through it
            5 => 5,
            _ => 300,
        };
        byte[] payload = new byte[size];
        for (int i = 0; i < size; i++)
        {
            payload[i] = (byte)(index * 31 + i);
        }
        if (size >= 4)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload, index);
        }
        return payload;
    }

    private static async Task<(PipeServer Server, PipeConnection Client, PipeConnection Peer)> PairAsync(NPipesOptions options)
    {
        string name = TestPipes.NewName();
        PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = options, DrainTimeout = TimeSpan.Zero });
        ValueTask<PipeConnection> accepting = server.AcceptAsync(Ct);
        PipeConnection client = await PipeConnection.ConnectAsync(name, options, Ct);
        PipeConnection peer = await accepting.Within();
        return (server, client, peer);
    }

    [Fact]
    public async Task Many_queued_sends_arrive_whole_and_in_order_with_text_and_large_frames_mixed_in()
    {
        const int Count = 20_000;
        (PipeServer server, PipeConnection client, PipeConnection peer) = await PairAsync(Servers.Crc());
        await using (server)
        await using (peer)
        {
            Task<int> receiving = Task.Run(async () =>
            {
                int received = 0;
                var buffer = new ArrayBufferWriter<byte>();
                for (int i = 0; i < Count; i++)
                {
                    if (i % 1000 == 999)
                    {
                        Assert.Equal("text " + i, await peer.ReceiveTextAsync(Ct));
                    }
                    else if (i % 2 == 0)
                    {
                        using PipeMessage? message = await peer.ReceiveAsync(Ct);
                        Assert.NotNull(message);
                        Assert.Equal(Payload(i), message.ToArray());
                    }
                    else
                    {
                        buffer.ResetWrittenCount();
                        Assert.Equal(Payload(i).Length, await peer.ReceiveIntoAsync(buffer, Ct));
                        Assert.Equal(Payload(i), buffer.WrittenSpan.ToArray());
                    }
                    received++;
                }
                return received;
            }, Ct);
            await using (client)
            {
                for (int i = 0; i < Count; i++)
                {
                    if (i % 1000 == 999)
                    {
                        await client.SendAsync("text " + i, Ct);
                    }
                    else if (i % 3 == 0)
                    {
                        client.Send(Payload(i));
                    }
                    else
                    {
                        await client.SendAsync(Payload(i), Ct);
                    }
                }
                await client.FlushAsync(Ct).AsTask().Within();
                Assert.Equal(Count, await receiving.Within());
            }
            Assert.Null(await peer.ReceiveAsync(Ct).Within());
        }
    }

    [Fact]
    public async Task Concurrent_senders_never_interleave_frames()
    {
        const int Senders = 8;
        const int PerSender = 2_000;
        (PipeServer server, PipeConnection client, PipeConnection peer) = await PairAsync(Servers.Crc());
        await using (server)
        await using (peer)
        await using (client)
        {
            Task[] sending = Enumerable.Range(0, Senders).Select(s => Task.Run(async () =>
            {
                byte[] payload = new byte[8 + s * 100];
                for (int i = 0; i < PerSender; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(payload, s);
                    BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), i);
                    await client.SendAsync(payload, Ct);
                }
            }, Ct)).ToArray();
            int[] next = new int[Senders];
            for (int n = 0; n < Senders * PerSender; n++)
            {
                using PipeMessage? message = await peer.ReceiveAsync(Ct).Within();
                Assert.NotNull(message);
                int s = BinaryPrimitives.ReadInt32LittleEndian(message.Payload.Span);
                Assert.Equal(8 + s * 100, message.Length); // CRC-checked and the length its sender used: no interleaving
                Assert.Equal(next[s]++, BinaryPrimitives.ReadInt32LittleEndian(message.Payload.Span[4..])); // each sender's order kept
            }
            await Task.WhenAll(sending).Within();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dispose_writes_everything_queued_before_closing(bool async)
    {
        const int Count = 5_000;
        (PipeServer server, PipeConnection client, PipeConnection peer) = await PairAsync(Servers.Crc());
        await using (server)
        await using (peer)
        {
            Task receiving = Task.Run(async () =>
            {
                for (int i = 0; i < Count; i++)
                {
                    using PipeMessage? message = await peer.ReceiveAsync(Ct);
                    Assert.NotNull(message);
                    Assert.Equal(Payload(i), message.ToArray());
                }
                Assert.Null(await peer.ReceiveAsync(Ct));
            }, Ct);
            for (int i = 0; i < Count; i++)
            {
                await client.SendAsync(Payload(i), Ct);
            }
            // No flush: disposal must write what is queued, then close cleanly between frames.
            if (async)
            {
                await client.DisposeAsync().AsTask().Within();
            }
            else
            {
                await Task.Run(client.Dispose, Ct).Within();
            }
            await receiving.Within();
            Assert.Equal(DisconnectReason.PeerClosed, peer.DisconnectReason);
        }
    }

    [Fact]
    public async Task A_failed_write_surfaces_on_the_next_call_with_its_cause()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows writes each frame on the caller's own call");
        (PipeServer server, PipeConnection client, PipeConnection peer) = await PairAsync(TestPipes.Options());
        await using (server)
        await using (client)
        {
            await peer.DisposeAsync();
            ConnectionClosedException? error = null;
            byte[] payload = new byte[1000];
            for (int i = 0; i < 10_000 && error is null; i++)
            {
                try
                {
                    await client.SendAsync(payload, Ct);
                    await client.FlushAsync(Ct).AsTask().Within();
                }
                catch (ConnectionClosedException e)
                {
                    error = e;
                }
            }
            Assert.NotNull(error);
            Assert.Equal(DisconnectReason.IOError, client.DisconnectReason);
            Assert.NotNull(error.InnerException);
            // And every later call reports the same.
            var again = await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.SendAsync(payload, Ct));
            Assert.Equal(DisconnectReason.IOError, again.Reason);
            Assert.NotNull(again.InnerException);
        }
    }

    /// <summary>A stream whose writes fail, to drive the background flush into an error deterministically.</summary>
    private sealed class FailingStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => 0;
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("disk on fire");
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("disk on fire"));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_background_write_failure_is_not_lost()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows has no background writes");
        await using var connection = new PipeConnection(new FailingStream(), "fake", TestPipes.Options());
        await connection.SendAsync(new byte[] { 1, 2, 3 }, Ct); // queued: succeeds
        var flushed = await Assert.ThrowsAsync<ConnectionClosedException>(async () => await connection.FlushAsync(Ct).AsTask().Within());
        Assert.Equal(DisconnectReason.IOError, flushed.Reason);
        Assert.Equal("disk on fire", flushed.InnerException?.Message);
        var next = await Assert.ThrowsAsync<ConnectionClosedException>(async () => await connection.SendAsync(new byte[] { 4 }, Ct));
        Assert.Equal("disk on fire", next.InnerException?.Message);
        Assert.Equal(DisconnectReason.IOError, connection.DisconnectReason);
    }

    [Fact]
    public async Task Receive_into_a_buffer_writer_appends_and_reports_the_end()
    {
        (PipeServer server, PipeConnection client, PipeConnection peer) = await PairAsync(Servers.Crc());
        await using (server)
        await using (peer)
        {
            await using (client)
            {
                await client.SendAsync(new byte[] { 1, 2 }, Ct);
                await client.SendAsync(Array.Empty<byte>(), Ct);
                await client.SendAsync(new byte[] { 3 }, Ct);
            }
            var buffer = new ArrayBufferWriter<byte>();
            Assert.Equal(2, await peer.ReceiveIntoAsync(buffer, Ct).Within());
            Assert.Equal(0, peer.ReceiveInto(buffer));
            Assert.Equal(1, await peer.ReceiveIntoAsync(buffer, Ct).Within());
            Assert.Equal(new byte[] { 1, 2, 3 }, buffer.WrittenSpan.ToArray());
            Assert.Equal(-1, await peer.ReceiveIntoAsync(buffer, Ct).Within());
            Assert.Equal(DisconnectReason.PeerClosed, peer.DisconnectReason);
        }
    }

    [Theory]
    [InlineData(40_000)]
    [InlineData(3 * 1024 * 1024)]
    public async Task A_large_payload_with_a_wrong_crc_is_refused(int size)
    {
        // The sender has CRC off (writes 0), the receiver checks: a large payload is checked piece by piece as it arrives.
        string name = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Servers.Crc(), DrainTimeout = TimeSpan.Zero });
        ValueTask<PipeConnection> accepting = server.AcceptAsync(Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await using PipeConnection peer = await accepting.Within();
        byte[] payload = new byte[size];
        new Random(size).NextBytes(payload);
        Task sending = client.SendAsync(payload, Ct).AsTask();
        await Assert.ThrowsAsync<CrcMismatchException>(async () => await peer.ReceiveAsync(Ct).Within());
        Assert.Equal(DisconnectReason.ProtocolError, peer.DisconnectReason);
        await Task.WhenAny(sending).Within(); // the sender may or may not see the close; it must not hang
    }

    [Theory]
    [InlineData(100)]      // queued, written by the background flush
    [InlineData(64 * 1024)] // written in place by the caller
    public async Task A_sync_sender_blocked_by_a_peer_that_never_reads_is_closed_by_the_write_timeout(int size)
    {
        string name = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions
        {
            Connection = TestPipes.Options(),
            WriteTimeout = TimeSpan.FromMilliseconds(300),
            DrainTimeout = TimeSpan.Zero,
        });
        ValueTask<PipeConnection> accepting = server.AcceptAsync(Ct);
        await using PipeConnection deaf = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct); // never reads
        await using PipeConnection connection = await accepting.Within();
        byte[] payload = new byte[size];
        Task<ConnectionClosedException> sending = Task.Run(() =>
        {
            while (true)
            {
                try
                {
                    connection.Send(payload);
                }
                catch (ConnectionClosedException e)
                {
                    return e;
                }
            }
        }, Ct);
        ConnectionClosedException error = await sending.Within();
        Assert.Equal(DisconnectReason.WriteTimeout, error.Reason);
        Assert.Equal(DisconnectReason.WriteTimeout, connection.DisconnectReason);
    }
}
