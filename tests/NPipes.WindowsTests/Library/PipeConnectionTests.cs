using System.IO.Pipes;
using System.Runtime.Versioning;
using System.Text;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library;

/// <summary>NPipes' connections, server and rendezvous on Windows semantics (message-type pipes).</summary>
[SupportedOSPlatform("windows")]
public class PipeConnectionTests
{
    private static readonly NPipesOptions Crc = new() { Timeout = Guard, Frame = new FrameOptions { Crc = true, MaxPayloadLength = 8 << 20 } };

    [Fact]
    public async Task Ipc_to_Ipc_in_every_start_order()
    {
        Require.Windows();
        foreach (string order in new[] { "sender first", "receiver first", "both at once" })
        {
            string name = NewName();
            using var go = new ManualResetEventSlim();
            Task<string> receive;
            Task send;
            if (order == "sender first")
            {
                send = new Ipc(name, Crc).SendMessageAsync(order, true, TestContext.Current.CancellationToken);
                await Within(Pipes.OnThread(() => IpcPeerTests.WaitForPipe(name)));
                receive = new Ipc(name, Crc).ReceiveMessageAsync(true, TestContext.Current.CancellationToken);
            }
            else if (order == "receiver first")
            {
                receive = new Ipc(name, Crc).ReceiveMessageAsync(true, TestContext.Current.CancellationToken);
                send = new Ipc(name, Crc).SendMessageAsync(order, true, TestContext.Current.CancellationToken);
            }
            else
            {
                receive = Pipes.OnThread(() => { go.Wait(Guard); return new Ipc(name, Crc).ReceiveMessage(true); });
                send = Pipes.OnThread(() => { go.Wait(Guard); new Ipc(name, Crc).SendMessage(order, true); });
                go.Set();
            }
            Assert.Equal(order, await Within(receive));
            await Within(send);
        }
    }

    [Fact]
    public async Task A_large_frame_written_as_many_pipe_messages_is_read_whole()
    {
        Require.Windows();
        string name = NewName();
        byte[] payload = Payload(300_000);
        byte[] frame = Frame.Encode(payload, bigEndian: true, crc: true);
        using var raw = Server(name);
        Task<int> writer = Pipes.OnThread(() => { raw.WaitForConnection(); return WriteFrameInMessages(raw, frame); });
        await using PipeConnection conn = await Within(PipeConnection.ConnectAsync(name, Crc, TestContext.Current.CancellationToken));
        using PipeMessage? got = await Within(conn.ReceiveAsync(TestContext.Current.CancellationToken).AsTask());
        Assert.True(await Within(writer) > 1);
        Assert.Equal(payload, got!.ToArray());
    }

    [Fact]
    public async Task Each_NPipes_frame_is_one_pipe_message_even_above_64KiB()
    {
        Require.Windows();
        string name = NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Crc });
        Task<PipeConnection> accepted = server.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        using var raw = Client(name);
        ConnectMessageMode(raw);
        await using PipeConnection conn = await Within(accepted);
        byte[] payload = Payload(100_000);
        // Read while writing: a write bigger than the 64 KiB pipe buffer completes only as the other end reads.
        Task<(byte[], byte[])> reading = Pipes.OnThread(() => (ReadMessage(raw), ReadMessage(raw)));
        await Within(conn.SendAsync(payload, TestContext.Current.CancellationToken).AsTask());
        await Within(conn.SendAsync("second", TestContext.Current.CancellationToken).AsTask());
        var (first, second) = await Within(reading);
        Assert.Equal(payload, Frame.Decode(first, bigEndian: true, crc: true));
        Assert.Equal("second", Encoding.ASCII.GetString(Frame.Decode(second, bigEndian: true, crc: true)));
    }

    [Fact]
    public async Task Connect_times_out_and_is_cancellable()
    {
        Require.Windows();
        var shortWait = Crc with { Timeout = TimeSpan.FromMilliseconds(300) };
        await Assert.ThrowsAsync<TimeoutException>(() => Within(PipeConnection.ConnectAsync(NewName(), shortWait, TestContext.Current.CancellationToken)));
        using var cts = new CancellationTokenSource();
        Task<PipeConnection> connecting = PipeConnection.ConnectAsync(NewName(), NPipesOptions.Default, cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(connecting));
    }

    [Fact]
    public async Task A_peer_dying_mid_frame_is_an_IncompleteFrameException()
    {
        Require.Windows();
        string name = NewName();
        byte[] frame = Frame.Encode(Payload(1000), bigEndian: true, crc: false);
        var raw = Server(name);
        Task writer = Pipes.OnThread(() => { raw.WaitForConnection(); raw.Write(frame, 0, 500); raw.Flush(); raw.WaitForPipeDrain(); raw.Dispose(); });
        await using PipeConnection conn = await Within(PipeConnection.ConnectAsync(name, Crc with { Frame = FrameOptions.Default }, TestContext.Current.CancellationToken));
        var e = await Assert.ThrowsAsync<IncompleteFrameException>(async () => await Within(conn.ReceiveAsync(TestContext.Current.CancellationToken).AsTask()));
        Assert.Equal(500, e.Received);
        Assert.Equal(DisconnectReason.PeerDiedMidFrame, conn.DisconnectReason);
        await Within(writer);
    }

    [Fact]
    public async Task Many_clients_request_and_reply_on_one_name()
    {
        Require.Windows();
        string name = NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Crc });
        using var stop = new CancellationTokenSource();
        Task serving = server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult("re:" + request), stop.Token);
        var clients = Enumerable.Range(0, 8).Select(async c =>
        {
            await using PipeConnection conn = await PipeConnection.ConnectAsync(name, Crc, TestContext.Current.CancellationToken);
            for (int i = 0; i < 25; i++)
            {
                Assert.Equal($"re:{c}/{i}", await conn.RequestAsync($"{c}/{i}", TestContext.Current.CancellationToken));
            }
            using PipeMessage big = await conn.RequestAsync(Payload(200_000, c), TestContext.Current.CancellationToken);
            Assert.Equal(200_000 + 3, big.Length); // "re:" + the text of the payload
        });
        await Within(Task.WhenAll(clients));
        stop.Cancel();
        await Within(serving);
    }

    [Fact]
    public async Task A_second_server_on_a_held_name_is_refused()
    {
        Require.Windows();
        if (WineDetect.IsWine)
        {
            Assert.Skip($"{WineDetect.Describe()} does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (PipeOptions.FirstPipeInstance): a second instance is simply created. Runs on real Windows.");
        }
        string name = NewName();
        await using PipeServer first = PipeServer.Listen(name);
        Assert.Throws<PipeNameInUseException>(() => PipeServer.Listen(name));
    }
}
