using System.Buffers;
using System.Net.Sockets;
using System.Runtime.Versioning;
using NPipes.Messaging;
using NPipes.Transport;

namespace NPipes.Tests.Messaging;

/// <summary>
/// The Linux direct receive path of <see cref="FrameReader"/> (non-blocking recv on the caller's thread, a bounded spin,
/// then parking on the stream; the rest of a large payload and the fields after it in one recvmsg): frames split at any
/// offset still decode, bytes already there are returned synchronously, and a spin that finds nothing gives up and parks.
/// No assertion depends on timing: a split is made by waiting until the reader has taken every byte sent so far.
/// </summary>
[SupportedOSPlatform("linux")] // each test skips elsewhere (SocketPair)
public class DirectReceiveTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly FrameOptions Crc = FrameOptions.Default with { Crc = true };

    /// <summary>A connected pair: a plain socket to write raw bytes, and the reading end as the transport stream.</summary>
    private sealed class SocketPair : IDisposable
    {
        public SocketPair()
        {
            Assert.SkipUnless(OperatingSystem.IsLinux(), "the direct receive path exists on Linux only");
            string path = Path.Combine(Path.GetTempPath(), "npt_" + Guid.NewGuid().ToString("N")[..16] + ".sock");
            var endPoint = new UnixDomainSocketEndPoint(path);
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(endPoint);
            try
            {
                listener.Listen(1);
                Writer = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                Writer.Connect(endPoint);
                ReaderSocket = listener.Accept();
            }
            finally
            {
                File.Delete(path); // the socket file this test created
            }
            Stream = new UnixSocketStream(ReaderSocket);
            Direct = (LinuxSocketIO)Stream.DirectReceive!;
            Reader = new FrameReader(Stream, Stream.DirectReceive);
        }

        public Socket Writer { get; }
        public Socket ReaderSocket { get; }
        public UnixSocketStream Stream { get; }
        public LinuxSocketIO Direct { get; }
        public FrameReader Reader { get; }

        /// <summary>Sends <paramref name="bytes"/>, then waits (bounded) until the reader has taken all of them.</summary>
        public async Task SendAndWaitTakenAsync(ReadOnlyMemory<byte> bytes)
        {
            await Writer.SendAsync(bytes, SocketFlags.None, Ct);
            await Until.TrueAsync(() => ReaderSocket.Available == 0, "the reader to take the bytes sent");
        }

        public void Dispose()
        {
            Reader.Dispose();
            Stream.Dispose();
            Writer.Dispose();
        }
    }

    private static byte[] Payload(int length, int seed)
    {
        byte[] payload = new byte[length];
        new Random(seed).NextBytes(payload);
        return payload;
    }

    private static byte[] Frames(FrameOptions options, params byte[][] payloads)
    {
        var writer = new ArrayBufferWriter<byte>();
        foreach (byte[] payload in payloads)
        {
            FrameCodec.Write(writer, payload, options);
        }
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Reads one frame into a fresh buffer writer and checks it against <paramref name="expected"/>.</summary>
    private static async Task ExpectFrameAsync(FrameReader reader, byte[] expected, bool sync)
    {
        var destination = new ArrayBufferWriter<byte>();
        FrameReader.Frame frame = sync
            ? await Task.Run(() => reader.ReadFrameAsync(Crc, destination, sync: true, default).AsTask()).Within()
            : await reader.ReadFrameAsync(Crc, destination, sync: false, Ct).Within();
        Assert.Equal(expected.Length, frame.Length);
        Assert.Equal(expected, destination.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Small_frames_split_at_every_offset_decode(bool sync)
    {
        byte[] first = Payload(16, 1), second = Payload(3, 2);
        byte[] wire = Frames(Crc, first, second);
        using var pair = new SocketPair();
        for (int split = 0; split <= wire.Length; split++)
        {
            Task reading = Task.Run(async () =>
            {
                await ExpectFrameAsync(pair.Reader, first, sync);
                await ExpectFrameAsync(pair.Reader, second, sync);
            }, Ct);
            await pair.SendAndWaitTakenAsync(wire.AsMemory(0, split));
            await pair.Writer.SendAsync(wire.AsMemory(split), SocketFlags.None, Ct);
            await reading.Within();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Large_frames_split_around_every_field_decode(bool sync)
    {
        // Large payloads are read straight into their destination together with the CRC field and the next header;
        // split the stream inside each of those and at the edges of the payload.
        byte[] large = Payload(48 * 1024, 3), small = Payload(10, 4), last = Payload(40 * 1024, 5);
        byte[] wire = Frames(Crc, large, small, last, large);
        int h = FrameCodec.HeaderLength, c = FrameCodec.CrcLength;
        int afterLarge = h + large.Length + c, afterSmall = afterLarge + h + small.Length + c;
        int[] edges = [0, 1, h - 1, h, h + 1, h + 16 * 1024, afterLarge - c - 1, afterLarge - c, afterLarge - 1, afterLarge,
            afterLarge + 3, afterLarge + h, afterSmall - 1, afterSmall, afterSmall + h - 2, afterSmall + h + 1,
            wire.Length - large.Length - c - 1, wire.Length - c - h - 1, wire.Length - c, wire.Length - 1, wire.Length];
        using var pair = new SocketPair();
        foreach (int split in edges)
        {
            Task reading = Task.Run(async () =>
            {
                await ExpectFrameAsync(pair.Reader, large, sync);
                await ExpectFrameAsync(pair.Reader, small, sync);
                await ExpectFrameAsync(pair.Reader, last, sync);
                await ExpectFrameAsync(pair.Reader, large, sync);
            }, Ct);
            await pair.SendAndWaitTakenAsync(wire.AsMemory(0, split));
            await pair.Writer.SendAsync(wire.AsMemory(split), SocketFlags.None, Ct);
            await reading.Within();
        }
    }

    [Fact]
    public async Task Frames_that_are_already_there_are_returned_synchronously()
    {
        byte[] small = Payload(16, 6), large = Payload(64 * 1024, 7);
        byte[] wire = Frames(Crc, small, large, small);
        using var pair = new SocketPair();
        await pair.Writer.SendAsync(wire, SocketFlags.None, Ct);
        await Until.TrueAsync(() => pair.ReaderSocket.Available == wire.Length, "every byte to arrive");
        foreach (byte[] expected in new[] { small, large, small })
        {
            var destination = new ArrayBufferWriter<byte>();
            ValueTask<FrameReader.Frame> read = pair.Reader.ReadFrameAsync(Crc, destination, sync: false, Ct);
            Assert.True(read.IsCompletedSuccessfully, "a frame already in the socket must not wait");
            Assert.Equal(expected.Length, (await read).Length);
            Assert.Equal(expected, destination.WrittenSpan.ToArray());
        }
        Assert.Equal(0, pair.ReaderSocket.Available);
    }

    [Fact]
    public async Task A_spin_that_finds_nothing_gives_up_and_the_read_parks_until_data_arrives()
    {
        byte[] payload = Payload(16, 8);
        using var pair = new SocketPair();
        pair.Direct.AlwaysSpin = true;
        var destination = new ArrayBufferWriter<byte>();
        ValueTask<FrameReader.Frame> read = pair.Reader.ReadFrameAsync(Crc, destination, sync: false, Ct);
        // Nothing was sent: the spin must have given up, and the read waits on the socket engine.
        Assert.False(read.IsCompleted);
        Assert.Equal(1, pair.Direct.SpinMisses);
        await pair.Writer.SendAsync(Frames(Crc, payload), SocketFlags.None, Ct);
        FrameReader.Frame frame = await read.Within();
        Assert.Equal(payload, destination.WrittenSpan.ToArray());
        Assert.Equal(payload.Length, frame.Length);
        Assert.Equal(1, pair.Direct.SpinMisses);
    }

    [Fact]
    public async Task A_synchronous_read_gives_up_its_spin_and_waits_in_poll()
    {
        byte[] payload = Payload(40 * 1024, 9);
        using var pair = new SocketPair();
        pair.Direct.AlwaysSpin = true;
        var destination = new ArrayBufferWriter<byte>();
        Task<FrameReader.Frame> read = Task.Run(() => pair.Reader.ReadFrameAsync(Crc, destination, sync: true, default).AsTask(), Ct);
        await Until.TrueAsync(() => pair.Direct.SpinMisses >= 1, "the spin to give up");
        Assert.False(read.IsCompleted);
        await pair.Writer.SendAsync(Frames(Crc, payload), SocketFlags.None, Ct);
        FrameReader.Frame frame = await read.Within();
        Assert.Equal(payload.Length, frame.Length);
        Assert.Equal(payload, destination.WrittenSpan.ToArray());
    }

    [Fact]
    public async Task End_of_stream_between_frames_and_mid_frame_are_told_apart()
    {
        byte[] payload = Payload(40 * 1024, 10);
        byte[] wire = Frames(Crc, payload);
        using (var pair = new SocketPair())
        {
            await pair.Writer.SendAsync(wire, SocketFlags.None, Ct);
            pair.Writer.Shutdown(SocketShutdown.Send);
            await ExpectFrameAsync(pair.Reader, payload, sync: false);
            Assert.Equal(-1, (await pair.Reader.ReadFrameAsync(Crc, null, sync: false, Ct).Within()).Length);
        }
        using (var pair = new SocketPair())
        {
            await pair.Writer.SendAsync(wire.AsMemory(0, wire.Length - 1), SocketFlags.None, Ct);
            pair.Writer.Shutdown(SocketShutdown.Send);
            await Assert.ThrowsAsync<IncompleteFrameException>(() => pair.Reader.ReadFrameAsync(Crc, new ArrayBufferWriter<byte>(), sync: false, Ct).AsTask()).Within();
        }
    }

    [Theory]
    [InlineData("0.52 0.58 0.59 3/245 12345\n", 0.52)]
    [InlineData("16.66 16.70 20.22 29/247 1165\n", 16.66)]
    [InlineData("0.00 0.00 0.00 0/1 1", 0.0)]
    [InlineData("3 1.00 1.00 1/1 1", 3.0)]
    [InlineData(" 0.52 0.58", null)]
    [InlineData("x", null)]
    [InlineData("", null)]
    public void The_load_average_is_read_from_the_first_field(string line, double? expected)
    {
        double? load = SpareCore.Parse(System.Text.Encoding.ASCII.GetBytes(line));
        Assert.Equal(expected.HasValue, load.HasValue);
        if (expected is double value)
        {
            Assert.Equal(value, load!.Value, 6);
        }
    }

    [Fact]
    public void The_load_average_of_this_machine_can_be_read()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc/loadavg is Linux's");
        Assert.True(SpareCore.Load() is >= 0.0);
    }

    [Fact]
    public void The_socket_send_buffer_holds_several_large_frames()
    {
        using var pair = new SocketPair();
        int max = int.Parse(File.ReadAllText("/proc/sys/net/core/wmem_max").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        // Linux reports twice what was asked (its bookkeeping), capped by net.core.wmem_max.
        Assert.True(pair.ReaderSocket.SendBufferSize >= Math.Min(UnixSocketStream.SendBufferSize, max),
            $"send buffer {pair.ReaderSocket.SendBufferSize}, asked {UnixSocketStream.SendBufferSize}, wmem_max {max}");
    }
}
