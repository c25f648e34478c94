using System.Net.Sockets;
using System.Text;
using NPipes.Tests.Messaging;

namespace NPipes.Tests.Hostile;

/// <summary>
/// Hostile frames against a running <see cref="PipeServer"/>: each case gets a typed error for its own connection only,
/// allocates nothing near the length it claims, never hangs, and a healthy client connected throughout is served
/// before and after (and a fresh client after).
/// </summary>
[Collection(HostileCollection.Name)]
public class HostileFrameTests
{
    private const long Max = 64L * 1024 * 1024; // the server's MaxPayloadLength: big, so "just above it" is a real claim
    private const long AllocationBound = 16L * 1024 * 1024; // far below every length the hostile frames claim

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NPipesOptions Options(FrameOptions? frame = null) =>
        TestPipes.Options((frame ?? FrameOptions.Default) with { Crc = true, MaxPayloadLength = Max });

    private static readonly string[] AllCases =
    [
        "length 0xFFFFFFFF", "length 0x7FFFFFF0", "length just above the maximum", "data length just above the maximum",
        "MessageLength != DataLength+8", "DataLength+8 overflows", "wrong CRC", "cut mid-header", "cut mid-payload",
        "cut before the CRC", "random bytes",
    ];

    public static TheoryData<string> Cases => new(AllCases);

    /// <summary>The bytes a hostile client sends, the error type the server must report, and whether it then closes its sending side.</summary>
    private static (byte[] Bytes, Type Error, DisconnectReason Reason) Attack(string name)
    {
        byte[] frame = Hostiles.Frame(new byte[1000], Options().Frame);
        return name switch
        {
            // A length prefix alone, and a million junk bytes after it: refused from the first 4 bytes.
            "length 0xFFFFFFFF" => ([.. Hostiles.Header(0xFFFFFFFF, 0xFFFFFFF7), .. new byte[1 << 20]], typeof(FrameTooLargeException), DisconnectReason.ProtocolError),
            "length 0x7FFFFFF0" => ([.. Hostiles.Header(0x7FFFFFF0, 0x7FFFFFE8), .. new byte[1 << 20]], typeof(FrameTooLargeException), DisconnectReason.ProtocolError),
            "length just above the maximum" => (Hostiles.Header((uint)(Max + 1 + 8), (uint)(Max + 1)), typeof(FrameTooLargeException), DisconnectReason.ProtocolError),
            "data length just above the maximum" => (Hostiles.Header((uint)(Max + 8), (uint)(Max + 1)), typeof(FrameTooLargeException), DisconnectReason.ProtocolError),
            "MessageLength != DataLength+8" => ([.. Hostiles.Header(1000 + 9, 1000), .. new byte[1004]], typeof(FrameLengthMismatchException), DisconnectReason.ProtocolError),
            "DataLength+8 overflows" => (Hostiles.Header(7, 0xFFFFFFFF), typeof(FrameTooLargeException), DisconnectReason.ProtocolError),
            "wrong CRC" => (Corrupt(frame, frame.Length - 1), typeof(CrcMismatchException), DisconnectReason.ProtocolError),
            "cut mid-header" => (frame[..5], typeof(IncompleteFrameException), DisconnectReason.PeerDiedMidFrame),
            "cut mid-payload" => (frame[..500], typeof(IncompleteFrameException), DisconnectReason.PeerDiedMidFrame),
            "cut before the CRC" => (frame[..(frame.Length - 2)], typeof(IncompleteFrameException), DisconnectReason.PeerDiedMidFrame),
            "random bytes" => (RandomBytes(), typeof(FrameException), DisconnectReason.None),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }

    private static byte[] Corrupt(byte[] frame, int at)
    {
        byte[] copy = (byte[])frame.Clone();
        copy[at] ^= 0x5A;
        return copy;
    }

    private static byte[] RandomBytes()
    {
        byte[] bytes = new byte[4096];
        new Random(20261125).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_hostile_frame_gets_a_typed_error_for_its_connection_only(string attack)
    {
        string name = TestPipes.NewName();
        (byte[] bytes, Type errorType, DisconnectReason reason) = Attack(attack);
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = Options() });
        await using PipeConnection healthy = await PipeConnection.ConnectAsync(name, Options(), Ct);
        await Hostiles.RoundTripAsync(healthy, "before");
        await Hostiles.RoundTripAsync(healthy, "warm"); // the echo path's pooled buffers exist before the meter starts

        long allocatedBefore = Hostiles.AllocatedBytes();
        using (Socket hostile = await Hostiles.RawAsync(name))
        {
            await Hostiles.SendAndShutdownAsync(hostile, bytes); // a client cut off here, or one done sending its garbage
            PipeServerErrorEventArgs error = await server.NextErrorAsync();
            Assert.IsAssignableFrom(errorType, error.Exception);
            Assert.NotNull(error.Connection);
            if (reason != DisconnectReason.None)
            {
                Assert.Equal(reason, error.Connection.DisconnectReason);
            }
            Assert.Empty(await Hostiles.ReadToCloseAsync(hostile)); // closed without a reply
        }
        long allocated = Hostiles.AllocatedBytes() - allocatedBefore;
        TestContext.Current.SendDiagnosticMessage($"{attack}: {allocated:N0} bytes allocated by the process");
        Assert.True(allocated < AllocationBound, $"{attack}: the process allocated {allocated:N0} bytes handling it (bound {AllocationBound:N0})");

        Assert.True(healthy.IsConnected);
        await Hostiles.RoundTripAsync(healthy, "after");
        await using (PipeConnection fresh = await PipeConnection.ConnectAsync(name, Options(), Ct))
        {
            await Hostiles.RoundTripAsync(fresh, "fresh");
        }
        Assert.Single(server.Errors); // one error, the hostile one; the healthy connections raised none
    }

    [Fact]
    public async Task Text_invalid_for_the_encoding_gets_InvalidTextException_for_its_connection_only()
    {
        string name = TestPipes.NewName();
        NPipesOptions options = Options(FrameOptions.Default with { Encoding = TextEncodings.Utf8 });
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = options }, text: true);
        await using PipeConnection healthy = await PipeConnection.ConnectAsync(name, options, Ct);
        Assert.Equal("før", await healthy.RequestAsync("før", Ct).AsTask().Within());

        using (Socket hostile = await Hostiles.RawAsync(name))
        {
            byte[] invalid = [0x61, 0xC3, 0x28, 0xFF, 0xFE]; // a broken two-byte sequence and bytes UTF-8 never uses
            await hostile.SendAsync(Hostiles.Frame(invalid, options.Frame), SocketFlags.None, Ct).AsTask().Within();
            PipeServerErrorEventArgs error = await server.NextErrorAsync();
            InvalidTextException e = Assert.IsType<InvalidTextException>(error.Exception);
            Assert.Equal("utf-8", e.EncodingName);
            Assert.False(error.Connection!.IsConnected);
            Assert.Empty(await Hostiles.ReadToCloseAsync(hostile));
        }

        Assert.Equal("after ✓", await healthy.RequestAsync("after ✓", Ct).AsTask().Within());
        Assert.Single(server.Errors);
    }

    [Fact]
    public async Task Zero_byte_payloads_are_valid_messages_and_echo_back()
    {
        string name = TestPipes.NewName();
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = Options() });
        byte[] empty = Hostiles.Frame([], Options().Frame);
        Assert.Equal(12, empty.Length);
        using (Socket raw = await Hostiles.RawAsync(name))
        {
            // Three empty frames in one write, then the sending side closed: three empty replies, then a clean close.
            await raw.SendAsync((byte[])[.. empty, .. empty, .. empty], SocketFlags.None, Ct).AsTask().Within();
            raw.Shutdown(SocketShutdown.Send);
            byte[] replies = await Hostiles.ReadToCloseAsync(raw);
            Assert.Equal((byte[])[.. empty, .. empty, .. empty], replies);
        }
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, Options(), Ct);
        using PipeMessage reply = await client.RequestAsync(ReadOnlyMemory<byte>.Empty, Ct).AsTask().Within();
        Assert.Equal(0, reply.Length);
        Assert.Equal("", reply.GetText());
        Assert.Empty(server.Errors);
    }

    [Fact]
    public async Task Many_hostile_clients_at_once_leave_a_pipelining_healthy_client_untouched()
    {
        string name = TestPipes.NewName();
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = Options() });
        await using PipeConnection healthy = await PipeConnection.ConnectAsync(name, Options(), Ct);
        string[] cases = AllCases;

        // The healthy client keeps 8 requests in flight while every hostile case hits the server concurrently.
        Task healthyWork = Task.Run(async () =>
        {
            for (int round = 0; round < 50; round++)
            {
                Task<string>[] replies = [.. Enumerable.Range(0, 8).Select(i => healthy.RequestAsync($"{round}:{i}", Ct).AsTask())];
                for (int i = 0; i < replies.Length; i++)
                {
                    Assert.Equal($"{round}:{i}", await replies[i]);
                }
            }
        }, Ct);
        await Task.WhenAll(cases.Select(async attack =>
        {
            using Socket hostile = await Hostiles.RawAsync(name);
            await Hostiles.SendAndShutdownAsync(hostile, Attack(attack).Bytes);
            Assert.Empty(await Hostiles.ReadToCloseAsync(hostile));
        })).Within();
        await healthyWork.Within();
        for (int i = 0; i < cases.Length; i++)
        {
            await server.NextErrorAsync();
        }

        Assert.Equal(cases.Length, server.Errors.Count);
        Assert.All(server.Errors, e => Assert.IsAssignableFrom<FrameException>(e.Exception));
        Assert.True(healthy.IsConnected);
        Assert.Equal(1, server.Server.ActiveConnections);
    }
}
