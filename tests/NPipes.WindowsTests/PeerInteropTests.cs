using System.ComponentModel;
using System.IO.Pipes;
using System.Text;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests;

/// <summary>
/// System.IO.Pipes (what NPipes will use on Windows) against <see cref="NpipesPeer"/> (exactly what npipes 1.0.1
/// does), in both directions, both start orders, big and little endian, CRC on and off.
/// The peer runs on its own thread; frames are checked with the independent <see cref="Frame"/> oracle.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
public class PeerInteropTests
{
    public static readonly TheoryData<bool, bool> Formats = new()
    {
        { true, false },  // big endian (npipes 1.0.1 as shipped), CRC off (npipes default)
        { true, true },
        { false, false }, // little endian (npipes' documented default)
        { false, true },
    };

    private static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

    // ---------------------------------------------------------------- npipes sends, .NET receives

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task PeerSends_PeerCreatesFirst_ClientStreamReceives(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        byte[] data = Text($"hello from npipes, big={bigEndian} crc={crc}");
        byte[] frame = Frame.Encode(data, bigEndian, crc);

        using var created = new ManualResetEventSlim();
        using var clientReady = new ManualResetEventSlim();
        Task<int> peer = NpipesPeer.SendAsync(name, frame, created, clientReady);
        Wait(created, "peer CreateNamedPipe");

        using var client = Client(name);
        ConnectMessageMode(client);
        clientReady.Set(); // message read mode is set before the peer writes (see ReadModeSetAfterPeerClosed)
        byte[] message = ReadMessage(client);

        Assert.Equal(frame.Length, await Within(peer));
        Assert.Equal(frame, message);                       // one frame == one pipe message
        Assert.Equal(data, Frame.Decode(message, bigEndian, crc));
        Assert.Equal(0, client.Read(new byte[16], 0, 16));  // then the peer's close reads as end of stream
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task PeerSends_ClientStreamStartsFirst_AndWaitsForThePipe(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        byte[] data = Text($"client was waiting, big={bigEndian} crc={crc}");
        byte[] frame = Frame.Encode(data, bigEndian, crc);

        using var client = Client(name);
        using var clientReady = new ManualResetEventSlim();
        // The client starts first: Connect(timeout) keeps looking for the pipe until the peer creates it.
        Task<byte[]> reader = OnThread(() =>
        {
            ConnectMessageMode(client);
            clientReady.Set();
            return ReadMessage(client);
        });
        Task<int> peer = NpipesPeer.SendAsync(name, frame, writeGate: clientReady);

        byte[] message = await Within(reader);
        Assert.Equal(frame.Length, await Within(peer));
        Assert.Equal(data, Frame.Decode(message, bigEndian, crc));
    }

    // ---------------------------------------------------------------- .NET sends, npipes receives

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task ServerStreamSendsFirst_PeerReceivesAsClient(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        byte[] data = Text($"hello to npipes, big={bigEndian} crc={crc}");
        byte[] frame = Frame.Encode(data, bigEndian, crc);

        // Like npipes' sender: one instance, message mode, 65536-byte buffers, created before the receiver starts.
        using var server = Server(name);
        Task<PeerReceipt> peer = NpipesPeer.ReceiveAsync(name);
        await Within(server.WaitForConnectionAsync(TestContext.Current.CancellationToken));
        server.Write(frame, 0, frame.Length); // ONE write == one pipe message

        PeerReceipt got = await Within(peer);
        Assert.False(got.CreatedPipe, "peer should have got 231 and connected with CreateFile");
        Assert.Equal(0, got.ReadError);
        Assert.Equal(data, Frame.Decode(got.Data, bigEndian, crc));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task PeerReceivesFirst_CreatesPipe_ClientStreamSends(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        byte[] data = Text($"npipes was waiting, big={bigEndian} crc={crc}");
        byte[] frame = Frame.Encode(data, bigEndian, crc);

        using var ready = new ManualResetEventSlim();
        Task<PeerReceipt> peer = NpipesPeer.ReceiveAsync(name, ready);
        Wait(ready, "peer CreateNamedPipe");

        using (var client = Client(name))
        {
            ConnectMessageMode(client);
            client.Write(frame, 0, frame.Length);
            PeerReceipt got = await Within(peer); // read before the client goes away
            Assert.True(got.CreatedPipe);
            Assert.Equal(0, got.ReadError);
            Assert.Equal(data, Frame.Decode(got.Data, bigEndian, crc));
        }
    }

    // ---------------------------------------------------------------- npipes <-> npipes (oracle sanity)

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task PeerToPeer_SenderFirst(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        byte[] data = Text("npipes to npipes");
        byte[] frame = Frame.Encode(data, bigEndian, crc);

        using var created = new ManualResetEventSlim();
        Task<int> sender = NpipesPeer.SendAsync(name, frame, created);
        Wait(created, "sender CreateNamedPipe");
        PeerReceipt got = await Within(NpipesPeer.ReceiveAsync(name));

        Assert.Equal(frame.Length, await Within(sender));
        Assert.False(got.CreatedPipe);
        Assert.Equal(0, got.ReadError);
        Assert.Equal(data, Frame.Decode(got.Data, bigEndian, crc));
    }

    /// <summary>
    /// npipes' own limitation, pinned down: if the receiver created the pipe first, npipes' send_message gets
    /// 231 from its CreateNamedPipe (it never connects as a client) and fails. The receiver then sees nothing
    /// until a client connects; when that client leaves without writing, its one ReadFile fails with
    /// ERROR_BROKEN_PIPE (npipes would return '').
    /// </summary>
    [Fact]
    public async Task PeerToPeer_ReceiverFirst_SenderFailsWith231()
    {
        Require.Windows();
        string name = NewName();

        using var ready = new ManualResetEventSlim();
        Task<PeerReceipt> receiver = NpipesPeer.ReceiveAsync(name, ready);
        Wait(ready, "receiver CreateNamedPipe");

        var ex = Assert.Throws<Win32Exception>(() => NpipesPeer.Send(name, Frame.Encode(Text("x"), true, false)));
        Assert.Equal(Win32.ERROR_PIPE_BUSY, ex.NativeErrorCode);

        using (var client = Client(name)) // release the waiting receiver
            client.Connect(ConnectGuardMs);
        PeerReceipt got = await Within(receiver);
        Assert.True(got.CreatedPipe);
        Assert.Empty(got.Data);
        Assert.Equal(Win32.ERROR_BROKEN_PIPE, got.ReadError);
    }

    // ---------------------------------------------------------------- npipes' close right after the write

    /// <summary>
    /// npipes writes and immediately CloseHandle()s (no FlushFileBuffers, no DisconnectNamedPipe). Here the
    /// client reads only AFTER the peer has closed its handle: the frame must still be there.
    /// </summary>
    [Theory]
    [InlineData(5)]
    [InlineData(60_000)] // near the 65536 limit: one message, fills most of the pipe buffer
    public async Task PeerClosesBeforeClientReads_FrameSurvives(int size)
    {
        Require.Windows();
        string name = NewName();
        byte[] data = Payload(size);
        byte[] frame = Frame.Encode(data, bigEndian: true, crc: true);

        using var created = new ManualResetEventSlim();
        using var clientReady = new ManualResetEventSlim();
        Task<int> peer = NpipesPeer.SendAsync(name, frame, created, clientReady);
        Wait(created, "peer CreateNamedPipe");
        using var client = Client(name);
        ConnectMessageMode(client);
        clientReady.Set();

        Assert.Equal(frame.Length, await Within(peer)); // WriteFile done AND handle closed
        byte[] message = ReadMessage(client);
        Assert.Equal(frame, message);
        Assert.Equal(data, Frame.Decode(message, true, true));
    }

    /// <summary>
    /// The race a real reader of npipes faces: npipes may write AND close before the reader has switched its
    /// handle to message read mode. Here that order is forced: the client connects (byte read mode), the peer
    /// writes and closes, only then the client sets ReadMode = Message and reads. Records what happens; the
    /// frame must be readable either way (falling back to byte mode if setting the read mode fails).
    /// </summary>
    [Fact]
    public async Task ReadModeSetAfterPeerClosed_FrameStillReadable()
    {
        Require.Windows();
        string name = NewName();
        byte[] data = Text("written and closed before the reader set message mode");
        byte[] frame = Frame.Encode(data, bigEndian: true, crc: true);

        using var created = new ManualResetEventSlim();
        Task<int> peer = NpipesPeer.SendAsync(name, frame, created);
        Wait(created, "peer CreateNamedPipe");
        using var client = Client(name);
        client.Connect(ConnectGuardMs);
        Assert.Equal(frame.Length, await Within(peer)); // written and closed

        Exception? modeError = Record.Exception(() => client.ReadMode = PipeTransmissionMode.Message);
        byte[] got = modeError is null ? ReadMessage(client) : ReadToEnd(client);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{WineDetect.Describe()}: setting ReadMode after the peer closed: " +
            (modeError is null ? "worked" : $"{modeError.GetType().Name}: {modeError.Message}"));
        Assert.Equal(data, Frame.Decode(got, true, true));
    }

    private static byte[] ReadToEnd(PipeStream pipe)
    {
        using var ms = new MemoryStream();
        pipe.CopyTo(ms);
        return ms.ToArray();
    }

    // ---------------------------------------------------------------- a message bigger than npipes' read

    /// <summary>
    /// npipes reads one message with ONE ReadFile of 65536 bytes. A single message larger than that gives
    /// 65536 bytes and ERROR_MORE_DATA (234): npipes cannot receive frames larger than 65536 bytes.
    /// </summary>
    [Fact]
    public async Task MessageLargerThan65536_PeerGetsFirst65536BytesAndMoreData()
    {
        Require.Windows();
        string name = NewName();
        byte[] frame = Frame.Encode(Payload(70_000), bigEndian: true, crc: false);

        using var server = Server(name);
        Task<PeerReceipt> peer = NpipesPeer.ReceiveAsync(name);
        await Within(server.WaitForConnectionAsync(TestContext.Current.CancellationToken));
        // The write of a message bigger than the pipe buffer may not complete once the peer has left.
        Task writer = OnThread(() => server.Write(frame, 0, frame.Length));

        PeerReceipt got = await Within(peer);
        Assert.Equal(Win32.ERROR_MORE_DATA, got.ReadError);
        Assert.Equal(65536, got.Data.Length);
        Assert.Equal(frame.AsSpan(0, 65536).ToArray(), got.Data);

        Exception? writeError = await Record.ExceptionAsync(() => Within(writer));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{WineDetect.Describe()}: writer of the 70012-byte message ended with {(writeError is null ? "success" : writeError.GetType().Name + ": " + writeError.Message)}");
        Assert.True(writeError is null or IOException, $"unexpected writer outcome: {writeError}");
    }
}
