using System.Net.Sockets;
using NPipes.Tests.Messaging;

namespace NPipes.Tests.Hostile;

/// <summary>
/// Slow and stuck peers: one that connects and sends nothing, one that stops half-way through a frame, one that never
/// reads its replies (so the server's writes block). The idle and write timeouts close each with a clear reason while
/// a busy client is served throughout.
/// </summary>
[Collection(HostileCollection.Name)]
public class SlowPeerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NPipesOptions Options => Servers.Crc(maxPayload: 1024 * 1024);

    [Fact]
    public async Task Silent_half_frame_and_non_reading_peers_are_closed_with_clear_reasons_while_others_are_served()
    {
        string name = TestPipes.NewName();
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = Options, IdleTimeout = Timeout, WriteTimeout = Timeout });
        await using PipeConnection healthy = await PipeConnection.ConnectAsync(name, Options, Ct);
        await Hostiles.RoundTripAsync(healthy, "before");

        // The busy client keeps requesting all along (a gap longer than the idle timeout would rightly close it too).
        using var stuckOnesGone = new CancellationTokenSource();
        Task<int> busy = Task.Run(async () =>
        {
            int roundTrips = 0;
            while (!stuckOnesGone.IsCancellationRequested)
            {
                await Hostiles.RoundTripAsync(healthy, "busy " + roundTrips++);
            }
            return roundTrips;
        }, Ct);

        using Socket silent = await Hostiles.RawAsync(name);
        using Socket half = await Hostiles.RawAsync(name);
        byte[] frame = Hostiles.Frame(new byte[1000], Options.Frame);
        await half.SendAsync(frame.AsMemory(0, 8 + 100), SocketFlags.None, Ct);
        using Socket deaf = await Hostiles.RawAsync(name);
        byte[] big = Hostiles.Frame(new byte[256 * 1024], Options.Frame);
        Task flood = Task.Run(async () =>
        {
            try
            {
                for (int i = 0; i < 32; i++) // 8 MiB of requests whose replies it never reads
                {
                    await deaf.SendAsync(big, SocketFlags.None, Ct);
                }
            }
            catch (SocketException)
            {
                // The server closed it (write timeout) while it was still flooding.
            }
        }, Ct);

        PipeServerErrorEventArgs[] errors = [await server.NextErrorAsync(), await server.NextErrorAsync(), await server.NextErrorAsync()];
        stuckOnesGone.Cancel();
        Assert.True(await busy.Within() > 0);

        DisconnectReason[] reasons = [.. errors.Select(e => e.Connection!.DisconnectReason).Order()];
        Assert.Equal([DisconnectReason.IdleTimeout, DisconnectReason.IdleTimeout, DisconnectReason.WriteTimeout], reasons);
        Assert.All(errors, e => Assert.Equal(e.Connection!.DisconnectReason, Assert.IsType<ConnectionClosedException>(e.Exception).Reason));
        Assert.Empty(await Hostiles.ReadToCloseAsync(silent));
        Assert.Empty(await Hostiles.ReadToCloseAsync(half));
        await Hostiles.ReadToCloseAsync(deaf); // the replies that fitted in the buffers, then the close
        await flood.Within();

        Assert.True(healthy.IsConnected);
        await Hostiles.RoundTripAsync(healthy, "after");
        Assert.Equal(3, server.Errors.Count);
        Assert.Equal(1, server.Server.ActiveConnections);
    }

    [Fact]
    public async Task Without_timeouts_stuck_peers_hold_only_their_own_connections()
    {
        string name = TestPipes.NewName();
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = Options });
        using Socket silent = await Hostiles.RawAsync(name);
        using Socket half = await Hostiles.RawAsync(name);
        await half.SendAsync(Hostiles.Frame(new byte[1000], Options.Frame).AsMemory(0, 300), SocketFlags.None, Ct);
        using Socket deaf = await Hostiles.RawAsync(name);
        byte[] big = Hostiles.Frame(new byte[256 * 1024], Options.Frame);
        // Requests whose replies it never reads: the replies fill the buffers, the server's write to it blocks, the
        // server stops reading it, and then its own sends block too (in the background, ended by the server's stop).
        Task flood = Task.Run(async () =>
        {
            try
            {
                for (int i = 0; i < 32; i++)
                {
                    await deaf.SendAsync(big, SocketFlags.None, Ct);
                }
            }
            catch (SocketException)
            {
            }
        }, Ct);

        PipeConnection[] clients = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PipeConnection.ConnectAsync(name, Options, Ct))).Within();
        await Task.WhenAll(clients.Select(async (client, c) =>
        {
            for (int i = 0; i < 10; i++)
            {
                await Hostiles.RoundTripAsync(client, $"{c}/{i}");
            }
        })).Within();
        Assert.Empty(server.Errors);
        Assert.Equal(3 + clients.Length, server.Server.ActiveConnections); // the stuck three hold only their own
        foreach (PipeConnection client in clients)
        {
            await client.DisposeAsync();
        }
        Assert.False(flood.IsCompleted); // still stuck: without a write timeout only the drain deadline would end it
        await server.DisposeAsync();
        await flood.Within();
    }

    [Fact]
    public async Task A_peer_trickling_a_frame_byte_by_byte_is_closed_by_the_frame_timeout()
    {
        string name = TestPipes.NewName();
        // The idle timeout alone never fires here: each byte restarts it. The frame timeout bounds the whole frame.
        await using var server = new RecordingServer(name, new PipeServerOptions
        {
            Connection = Options, IdleTimeout = TimeSpan.FromSeconds(5), FrameTimeout = TimeSpan.FromMilliseconds(500),
        });
        await using PipeConnection healthy = await PipeConnection.ConnectAsync(name, Options, Ct);
        await Hostiles.RoundTripAsync(healthy, "before");

        using Socket drip = await Hostiles.RawAsync(name);
        byte[] frame = Hostiles.Frame(new byte[1000], Options.Frame);
        Task trickle = Task.Run(async () =>
        {
            try
            {
                foreach (byte b in frame) // one byte every 20 ms: 20 s for the frame, never 5 s idle
                {
                    await drip.SendAsync(new[] { b }, SocketFlags.None, Ct);
                    await Task.Delay(20, Ct);
                }
            }
            catch (SocketException)
            {
                // Closed by the server mid-trickle.
            }
        }, Ct);

        PipeServerErrorEventArgs error = await server.NextErrorAsync();
        Assert.Equal(DisconnectReason.FrameTimeout, error.Connection!.DisconnectReason);
        Assert.Equal(DisconnectReason.FrameTimeout, Assert.IsType<ConnectionClosedException>(error.Exception).Reason);
        await trickle.Within();
        Assert.Empty(await Hostiles.ReadToCloseAsync(drip));

        await Hostiles.RoundTripAsync(healthy, "after"); // whole frames are never subject to it
        Assert.Single(server.Errors);
    }

    [Fact]
    public void Write_and_frame_timeouts_are_off_by_default_and_must_be_positive()
    {
        Assert.Equal(System.Threading.Timeout.InfiniteTimeSpan, PipeServerOptions.Default.FrameTimeout);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PipeServerOptions { FrameTimeout = TimeSpan.Zero });
        Assert.Equal(System.Threading.Timeout.InfiniteTimeSpan, PipeServerOptions.Default.WriteTimeout);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PipeServerOptions { WriteTimeout = TimeSpan.Zero });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PipeServerOptions { WriteTimeout = TimeSpan.FromSeconds(-2) });
        Assert.Equal(TimeSpan.FromSeconds(3), new PipeServerOptions { WriteTimeout = TimeSpan.FromSeconds(3) }.WriteTimeout);
    }
}
