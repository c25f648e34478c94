using System.IO.Pipes;
using System.Net.Sockets;
using NPipes.Tests.Messaging;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

/// <summary>NPipes talks to plain .NET pipe programs and to plain AF_UNIX sockets at .NET's path, both ways.</summary>
public class InteropTests
{
    private static readonly FrameOptions Crc = new() { Crc = true };

    [Fact]
    public async Task Raw_NamedPipeClientStream_talks_to_an_NPipes_server()
    {
        string name = TestPipes.NewName();
        using var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Task<Stream> accepted = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();

        await using var raw = new NamedPipeClientStream(".", name, PipeDirection.InOut, PipeOptions.Asynchronous);
        await raw.ConnectAsync((int)TestPipes.Patience.TotalMilliseconds, TestContext.Current.CancellationToken);
        await using var server = new PipeConnection(await accepted.Within(), name, TestPipes.Options(Crc));

        await raw.WriteAsync(FrameCodec.EncodeText("from raw client", Crc), TestContext.Current.CancellationToken);
        Assert.Equal("from raw client", await server.ReceiveTextAsync(TestContext.Current.CancellationToken).Within());

        await server.SendAsync("from NPipes server", TestContext.Current.CancellationToken);
        Assert.Equal("from NPipes server", await ReadOneFrameTextAsync(raw, Crc));
    }

    [Fact]
    public async Task NPipes_client_talks_to_a_raw_NamedPipeServerStream()
    {
        string name = TestPipes.NewName();
        await using var raw = new NamedPipeServerStream(name, PipeDirection.InOut, 1, PipeTransmissionMode.Byte, PipeOptions.Asynchronous);
        Task waiting = raw.WaitForConnectionAsync(TestContext.Current.CancellationToken);

        await using var client = await PipeConnection.ConnectAsync(name, TestPipes.Options(Crc), TestContext.Current.CancellationToken);
        await waiting.Within();

        await client.SendAsync("to raw server", TestContext.Current.CancellationToken);
        Assert.Equal("to raw server", await ReadOneFrameTextAsync(raw, Crc));

        await raw.WriteAsync(FrameCodec.EncodeText("from raw server", Crc), TestContext.Current.CancellationToken);
        Assert.Equal("from raw server", await client.ReceiveTextAsync(TestContext.Current.CancellationToken).Within());
    }

    [Fact]
    public async Task A_raw_AF_UNIX_socket_at_dotnets_path_talks_to_an_NPipes_server_both_ways()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "AF_UNIX at CoreFxPipe_ paths is the Unix transport");
        string name = TestPipes.NewName();
        Assert.Equal(Path.Combine(Path.GetTempPath(), "CoreFxPipe_" + name), PipeNames.GetPath(name)); // .NET's own location, under $TMPDIR
        using var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Task<Stream> accepted = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(PipeNames.GetPath(name)), TestContext.Current.CancellationToken);
        await using var server = new PipeConnection(await accepted.Within(), name, TestPipes.Options(Crc));

        await socket.SendAsync(FrameCodec.EncodeText("from a socket", Crc), TestContext.Current.CancellationToken);
        Assert.Equal("from a socket", await server.ReceiveTextAsync(TestContext.Current.CancellationToken).Within());

        await server.SendAsync("to a socket", TestContext.Current.CancellationToken);
        await using var stream = new NetworkStream(socket);
        Assert.Equal("to a socket", await ReadOneFrameTextAsync(stream, Crc));
    }

    [Fact]
    public async Task A_frame_trickled_one_byte_per_write_arrives_whole()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX socket");
        string name = TestPipes.NewName();
        using var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Task<Stream> accepted = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(PipeNames.GetPath(name)), TestContext.Current.CancellationToken);
        await using var server = new PipeConnection(await accepted.Within(), name, TestPipes.Options(Crc));

        Task<string?> receiving = server.ReceiveTextAsync(TestContext.Current.CancellationToken).AsTask();
        foreach (byte b in FrameCodec.EncodeText("slowly", Crc))
        {
            await socket.SendAsync(new[] { b }, TestContext.Current.CancellationToken);
        }
        Assert.Equal("slowly", await receiving.Within());
    }

    internal static async Task<string> ReadOneFrameTextAsync(Stream stream, FrameOptions options)
    {
        byte[] header = new byte[8];
        await stream.ReadExactlyAsync(header, TestContext.Current.CancellationToken).AsTask().Within();
        Assert.True(FrameCodec.TryReadHeader(header, options, out FrameHeader h));
        byte[] rest = new byte[h.DataLength + 4];
        await stream.ReadExactlyAsync(rest, TestContext.Current.CancellationToken).AsTask().Within();
        return FrameCodec.DecodeText([.. header, .. rest], options);
    }
}
