using NPipes.Transport;

namespace NPipes.Tests.Messaging;

/// <summary>
/// Messaging asks the transport stream for capabilities instead of testing the platform: a message-mode transport gets
/// one write per frame, a byte stream gets coalesced writes; the direct (P/Invoke) send exists on Linux only.
/// </summary>
public class TransportSeamTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A transport stream double that records every write; reads end at once.</summary>
    private sealed class RecordingTransport(bool messageMode) : Stream, ITransportStream
    {
        public List<byte[]> Writes { get; } = [];

        public bool IsMessageMode => messageMode;

        public PeerIdentity Peer => PeerIdentity.Unknown;
        public IDirectSend? DirectSend => null;
        public IDirectReceive? DirectReceive => null;

        public ISharedMemoryTransport? SharedMemory => null;
        public ValueTask<bool> ConfirmDeliveredAsync(CancellationToken cancellationToken) => ValueTask.FromResult(true);

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => 0;
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (Writes)
            {
                Writes.Add(buffer.ToArray());
            }
        }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return default;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static readonly string[] Texts = ["one", "two", "three", "four", "five"];

    [Fact]
    public async Task A_message_mode_transport_gets_exactly_one_write_per_frame_on_every_platform()
    {
        var transport = new RecordingTransport(messageMode: true);
        await using (var connection = new PipeConnection(transport, "seam", TestPipes.Options()))
        {
            foreach (string text in Texts)
            {
                await connection.SendAsync(text, Ct);
            }
            Assert.Equal(Texts.Length, transport.Writes.Count); // written before each send returned, one write each
        }
        Assert.Equal(Texts.Select(t => FrameCodec.EncodeText(t, FrameOptions.Default)), transport.Writes);
    }

    [Fact]
    public async Task A_byte_stream_transport_gets_the_frames_coalesced_on_every_platform()
    {
        var transport = new RecordingTransport(messageMode: false);
        await using (var connection = new PipeConnection(transport, "seam", TestPipes.Options()))
        {
            foreach (string text in Texts)
            {
                await connection.SendAsync(text, Ct);
            }
            await connection.FlushAsync(Ct);
        }
        byte[] expected = Texts.SelectMany(t => FrameCodec.EncodeText(t, FrameOptions.Default)).ToArray();
        Assert.Equal(expected, transport.Writes.SelectMany(w => w).ToArray());
        Assert.True(transport.Writes.Count < Texts.Length, $"{transport.Writes.Count} writes for {Texts.Length} queued frames: not coalesced");
    }

    [Fact]
    public async Task The_unix_stream_offers_the_direct_send_on_Linux_only()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix sockets");
        string name = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options(), DrainTimeout = TimeSpan.Zero });
        Stream stream = await PipeConnector.ConnectAsync(name, PipeAccess.CurrentUser, TestPipes.Patience, Ct);
        await using (stream)
        {
            var transport = Assert.IsAssignableFrom<ITransportStream>(stream);
            Assert.False(transport.IsMessageMode);
#if NPIPES_NETSTANDARD
            Assert.Null(transport.DirectSend); // the Linux fast path is in the net10.0 build only
#else
            Assert.Equal(OperatingSystem.IsLinux(), transport.DirectSend is not null);
#endif
        }
    }

    [Fact]
    public async Task A_large_send_cancelled_mid_frame_closes_the_connection_as_aborted()
    {
        string name = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options(), DrainTimeout = TimeSpan.Zero });
        ValueTask<PipeConnection> accepting = server.AcceptAsync(Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await using PipeConnection peer = await accepting.Within(); // never reads: the frame cannot all go out
        using var cancel = new CancellationTokenSource();
        ValueTask sending = client.SendAsync(new byte[8 * 1024 * 1024], cancel.Token);
        Assert.False(sending.IsCompleted); // part of the frame is out, the rest waits for the peer
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending.AsTask().Within());
        Assert.Equal(DisconnectReason.Aborted, client.DisconnectReason);
    }

    [Fact]
    public async Task The_reader_buffer_goes_back_to_the_pool_when_the_connection_closes()
    {
        string name = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options(), DrainTimeout = TimeSpan.Zero });
        ValueTask<PipeConnection> accepting = server.AcceptAsync(Ct);
        PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        PipeConnection peer = await accepting.Within();

        // Closed while a receive waits: returned once that receive has ended, and later receives report the close.
        ValueTask<PipeMessage?> pending = peer.ReceiveAsync(Ct);
        Assert.False(peer.IsReaderReturned);
        await client.SendAsync("last", Ct);
        await client.DisposeAsync();
        using (PipeMessage? last = await pending.Within())
        {
            Assert.Equal("last", last?.GetText());
        }
        Assert.Null(await peer.ReceiveAsync(Ct).Within()); // the peer's clean close
        Assert.True(peer.IsReaderReturned);
        Assert.Null(await peer.ReceiveAsync(Ct).Within()); // still the same answer afterwards
        Assert.True(client.IsReaderReturned); // closed with no receive in progress: returned at once
        await peer.DisposeAsync();
        await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.ReceiveAsync(Ct));
    }
}
