using System.Buffers.Binary;
using System.Net.Sockets;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

/// <summary>A peer that dies mid-frame, sends garbage or an oversized prefix: a typed error, the connection closed, nothing handed out.</summary>
public class ConnectionErrorTests
{
    private static async Task<(Socket Raw, PipeConnection Server, PipeListener Listener)> RawPeerAsync(FrameOptions? frame = null)
    {
        string name = TestPipes.NewName();
        var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Task<Stream> accepted = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(PipeNames.GetPath(name)), TestContext.Current.CancellationToken);
        return (socket, new PipeConnection(await accepted, name, TestPipes.Options(frame)), listener);
    }

    [Theory]
    [InlineData(3)]   // mid-header
    [InlineData(10)]  // mid-payload
    [InlineData(15)]  // mid-CRC
    public async Task A_peer_dying_mid_frame_is_told_apart_from_a_clean_close(int cut)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        var (raw, server, listener) = await RawPeerAsync();
        using (listener)
        await using (server)
        {
            byte[] frame = FrameCodec.EncodeText("Hello!", FrameOptions.Default);
            await raw.SendAsync(frame[..cut], TestContext.Current.CancellationToken);
            raw.Dispose();
            var e = await Assert.ThrowsAsync<IncompleteFrameException>(async () => await server.ReceiveAsync(TestContext.Current.CancellationToken));
            Assert.Equal(cut, e.Received);
            Assert.Equal(DisconnectReason.PeerDiedMidFrame, server.DisconnectReason);
        }
    }

    [Fact]
    public async Task A_clean_close_between_frames_returns_null_and_says_PeerClosed()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        var (raw, server, listener) = await RawPeerAsync();
        using (listener)
        await using (server)
        {
            await raw.SendAsync(FrameCodec.EncodeText("last", FrameOptions.Default), TestContext.Current.CancellationToken);
            raw.Dispose();
            Assert.Equal("last", await server.ReceiveTextAsync(TestContext.Current.CancellationToken));
            Assert.Null(await server.ReceiveAsync(TestContext.Current.CancellationToken));
            Assert.Equal(DisconnectReason.PeerClosed, server.DisconnectReason);
            await Assert.ThrowsAsync<ConnectionClosedException>(async () => await server.SendAsync("x", TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task An_oversized_prefix_is_refused_before_allocating_and_closes_the_connection()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        var (raw, server, listener) = await RawPeerAsync(new FrameOptions { MaxPayloadLength = 1024 });
        using (raw)
        using (listener)
        await using (server)
        {
            byte[] prefix = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(prefix, 0xFFFFFFFF);
            long before = GC.GetTotalAllocatedBytes();
            await raw.SendAsync(prefix, TestContext.Current.CancellationToken); // only 4 bytes: refused without waiting for more
            await Assert.ThrowsAsync<FrameTooLargeException>(async () => await server.ReceiveAsync(TestContext.Current.CancellationToken));
            Assert.Equal(DisconnectReason.ProtocolError, server.DisconnectReason);
            // Process-wide (other tests run alongside), so the bound is loose; the Hostile suite measures it in isolation.
            Assert.True(GC.GetTotalAllocatedBytes() - before < 1L << 30, "no allocation anywhere near the claimed 4 GiB");
        }
    }

    [Fact]
    public async Task A_crc_mismatch_over_a_pipe_is_typed_and_no_payload_is_handed_out()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        var crc = new FrameOptions { Crc = true };
        var (raw, server, listener) = await RawPeerAsync(crc);
        using (raw)
        using (listener)
        await using (server)
        {
            byte[] frame = FrameCodec.EncodeText("Hello", crc);
            frame[10] ^= 0x01;
            await raw.SendAsync(frame, TestContext.Current.CancellationToken);
            await Assert.ThrowsAsync<CrcMismatchException>(async () => await server.ReceiveAsync(TestContext.Current.CancellationToken));
            Assert.Equal(DisconnectReason.ProtocolError, server.DisconnectReason);
        }
    }

    [Fact]
    public async Task Many_frames_both_ways_and_a_large_one_arrive_intact()
    {
        string name = TestPipes.NewName();
        var options = TestPipes.Options(new FrameOptions { Crc = true, MaxPayloadLength = 8 << 20 });
        using var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Task<Stream> accepted = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        await using var client = await PipeConnection.ConnectAsync(name, options, TestContext.Current.CancellationToken);
        await using var server = new PipeConnection(await accepted, name, options);

        byte[] big = new byte[5 << 20];
        new Random(42).NextBytes(big);
        Task sending = Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                await client.SendAsync(BitConverter.GetBytes(i), TestContext.Current.CancellationToken);
            }
            await client.SendAsync(big, TestContext.Current.CancellationToken);
        }, TestContext.Current.CancellationToken);
        for (int i = 0; i < 200; i++)
        {
            using PipeMessage? m = await server.ReceiveAsync(TestContext.Current.CancellationToken);
            Assert.Equal(i, BitConverter.ToInt32(m!.Payload.Span));
        }
        using (PipeMessage? m = await server.ReceiveAsync(TestContext.Current.CancellationToken))
        {
            Assert.True(m!.Payload.Span.SequenceEqual(big));
        }
        await sending;
        await server.SendAsync("reply", TestContext.Current.CancellationToken);
        Assert.Equal("reply", client.ReceiveText());
    }

    [Fact]
    public async Task A_payload_over_the_limit_is_refused_on_send_and_nothing_is_written()
    {
        string name = TestPipes.NewName();
        var options = TestPipes.Options(new FrameOptions { MaxPayloadLength = 16 });
        using var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Task<Stream> accepted = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        await using var client = await PipeConnection.ConnectAsync(name, options, TestContext.Current.CancellationToken);
        await using var server = new PipeConnection(await accepted, name, options);
        await Assert.ThrowsAsync<FrameTooLargeException>(async () => await client.SendAsync(new byte[17], TestContext.Current.CancellationToken));
        Assert.True(client.IsConnected);
        await client.SendAsync("ok", TestContext.Current.CancellationToken);
        Assert.Equal("ok", await server.ReceiveTextAsync(TestContext.Current.CancellationToken));
    }
}
