using System.Text.Json;
using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>Broken peers and frames: every pending call fails with a typed error, and the cause is typed too.</summary>
public class FaultTests
{
    private static async Task<(JsonRpc Rpc, PipeConnection Connection, List<JsonRpcDisconnectedEventArgs> Disconnects)> ConnectToRawAsync(RawPeer peer, string name)
    {
        Task accepted = peer.AcceptAsync();
        PipeConnection connection = await PipeConnection.ConnectAsync(name, Rpc.Options(), Rpc.Ct);
        await accepted;
        JsonRpc rpc = connection.CreateJsonRpc();
        var disconnects = new List<JsonRpcDisconnectedEventArgs>();
        rpc.Disconnected += (_, e) => disconnects.Add(e);
        rpc.StartListening();
        return (rpc, connection, disconnects);
    }

    private static Task<string>[] StartCalls(JsonRpc rpc, int count) =>
        [.. Enumerable.Range(0, count).Select(i => rpc.InvokeWithCancellationAsync<string>("echo", ["call " + i], Rpc.Ct))];

    private static async Task AllLostAsync(Task<string>[] calls)
    {
        foreach (Task<string> call in calls)
        {
            await Assert.ThrowsAsync<ConnectionLostException>(() => call.Bounded());
        }
    }

    [Fact]
    public async Task A_crc_corrupt_reply_fails_every_pending_call_and_the_cause_is_a_crc_mismatch()
    {
        string name = Rpc.NewName();
        await using RawPeer peer = RawPeer.Listen(name, Rpc.Options().Frame);
        var (rpc, connection, disconnects) = await ConnectToRawAsync(peer, name);
        using (rpc)
        {
            Task<string>[] calls = StartCalls(rpc, 3);
            var first = await peer.ReadMessageAsync();
            // A well-formed reply to the first call, with one payload bit flipped after the CRC was computed.
            await peer.WriteFrameAsync(RawPeer.ResultFor(first, "call 0"), frame => frame[FrameCodec.HeaderLength + 2] ^= 0x01);
            await AllLostAsync(calls);
            var e = await Assert.ThrowsAsync<CrcMismatchException>(() => rpc.Completion.Bounded());
            Assert.NotEqual(e.Expected, e.Actual);
            Assert.Equal(DisconnectedReason.StreamError, Assert.Single(disconnects).Reason);
            Assert.Equal(DisconnectReason.ProtocolError, connection.DisconnectReason);
        }
    }

    [Fact]
    public async Task A_length_prefix_over_the_limit_is_refused_from_its_first_bytes()
    {
        string name = Rpc.NewName();
        await using RawPeer peer = RawPeer.Listen(name, Rpc.Options().Frame);
        var (rpc, _, _) = await ConnectToRawAsync(peer, name);
        using (rpc)
        {
            Task<string>[] calls = StartCalls(rpc, 2);
            await peer.ReadMessageAsync();
            await peer.WriteBytesAsync([0x40, 0x00, 0x00, 0x08]); // MessageLength 1 GiB + 8; nothing more is sent
            await AllLostAsync(calls);
            var e = await Assert.ThrowsAsync<FrameTooLargeException>(() => rpc.Completion.Bounded());
            Assert.Equal(1L << 30, e.DeclaredLength);
        }
    }

    [Fact]
    public async Task A_peer_dying_mid_frame_fails_every_pending_call_with_an_incomplete_frame_as_the_cause()
    {
        string name = Rpc.NewName();
        await using RawPeer peer = RawPeer.Listen(name, Rpc.Options().Frame);
        var (rpc, connection, _) = await ConnectToRawAsync(peer, name);
        using (rpc)
        {
            Task<string>[] calls = StartCalls(rpc, 5);
            var first = await peer.ReadMessageAsync();
            for (int i = 1; i < calls.Length; i++)
            {
                await peer.ReadMessageAsync(); // read them all: a Unix socket closed with unread data resets the connection instead
            }
            await peer.WriteFrameAsync(RawPeer.ResultFor(first, "call 0"));
            await peer.WriteBytesAsync([0, 0, 0, 40, 0, 0, 0, 32, (byte)'{']); // 9 of a 44-byte frame
            await peer.DisposeAsync();
            Assert.Equal("call 0", await calls[0].Bounded());
            await AllLostAsync(calls[1..]);
            await Assert.ThrowsAsync<IncompleteFrameException>(() => rpc.Completion.Bounded());
            Assert.Equal(DisconnectReason.PeerDiedMidFrame, connection.DisconnectReason);
        }
    }

    [Fact]
    public async Task A_peer_closing_between_frames_fails_every_pending_call_and_ends_cleanly()
    {
        string name = Rpc.NewName();
        await using RawPeer peer = RawPeer.Listen(name, Rpc.Options().Frame);
        var (rpc, _, disconnects) = await ConnectToRawAsync(peer, name);
        using (rpc)
        {
            Task<string>[] calls = StartCalls(rpc, 10);
            for (int i = 0; i < calls.Length; i++)
            {
                await peer.ReadMessageAsync(); // every call was sent and read
            }
            await peer.DisposeAsync();
            await AllLostAsync(calls);
            await rpc.Completion.Bounded(); // a clean end of stream is not a fault
            Assert.Equal(DisconnectedReason.RemotePartyTerminated, Assert.Single(disconnects).Reason);
        }
    }

    [Fact]
    public async Task A_frame_that_is_not_json_is_a_parse_error_and_fails_every_pending_call()
    {
        string name = Rpc.NewName();
        await using RawPeer peer = RawPeer.Listen(name, Rpc.Options().Frame);
        var (rpc, _, disconnects) = await ConnectToRawAsync(peer, name);
        using (rpc)
        {
            Task<string>[] calls = StartCalls(rpc, 2);
            await peer.ReadMessageAsync();
            await peer.WriteFrameAsync("this is not json");
            await AllLostAsync(calls);
            await Assert.ThrowsAnyAsync<JsonException>(() => rpc.Completion.Bounded());
            Assert.IsAssignableFrom<JsonException>(Assert.Single(disconnects).Exception);
        }
    }

    [Fact]
    public async Task A_response_to_a_request_never_sent_is_a_protocol_violation_that_ends_the_connection()
    {
        string name = Rpc.NewName();
        await using RawPeer peer = RawPeer.Listen(name, Rpc.Options().Frame);
        var (rpc, _, disconnects) = await ConnectToRawAsync(peer, name);
        using (rpc)
        {
            Task<string>[] calls = StartCalls(rpc, 2);
            await peer.ReadMessageAsync();
            await peer.ReadMessageAsync();
            await peer.WriteFrameAsync("""{"jsonrpc":"2.0","id":987654,"result":"not yours"}""");
            await AllLostAsync(calls);
            await rpc.Completion.ContinueWith(_ => { }, TaskScheduler.Default).Bounded();
            Assert.Equal(DisconnectedReason.RemoteProtocolViolation, Assert.Single(disconnects).Reason);
        }
    }

    [Fact]
    public async Task A_server_closing_mid_call_fails_every_pending_call()
    {
        var target = new TestTarget();
        RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(target), new PipeServerOptions { Connection = Rpc.Options(), DrainTimeout = TimeSpan.Zero });
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Task<int>[] calls = [.. Enumerable.Range(0, 10).Select(_ => client.InvokeWithCancellationAsync<int>("sleep", [600_000], Rpc.Ct))];
        await target.SleepStarted.Task.Bounded();
        await server.DisposeAsync(); // drain deadline zero: the calls still running lose their connection
        foreach (Task<int> call in calls)
        {
            await Assert.ThrowsAsync<ConnectionLostException>(() => call.Bounded());
        }
    }
}
