using System.Runtime.Versioning;
using System.Text;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library;

/// <summary>
/// NPipes' Ipc facade against <see cref="NpipesPeer"/> (npipes 1.0.1's exact kernel32 calls), both directions, both
/// start orders, big and little endian, CRC on and off. Frames are checked with the independent <see cref="Frame"/> oracle.
/// </summary>
[SupportedOSPlatform("windows")]
public class IpcPeerTests
{
    public static readonly TheoryData<bool, bool> Formats = new() { { true, false }, { true, true }, { false, false }, { false, true } };

    internal static NPipesOptions Options(bool bigEndian) => new()
    {
        Timeout = Guard,
        Frame = new FrameOptions { ByteOrder = bigEndian ? ByteOrder.BigEndian : ByteOrder.LittleEndian },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Ipc_sends_to_the_peer_when_the_peer_created_the_pipe(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        string text = $"NPipes to npipes, peer first, big={bigEndian} crc={crc}";
        using var ready = new ManualResetEventSlim();
        Task<PeerReceipt> peer = NpipesPeer.ReceiveAsync(name, ready);
        Wait(ready, "peer created the pipe");

        await Within(new Ipc(name, Options(bigEndian)).SendMessageAsync(text, crc, TestContext.Current.CancellationToken));
        PeerReceipt got = await Within(peer);

        Assert.True(got.CreatedPipe);
        Assert.Equal(0, got.ReadError);
        Assert.Equal(text, Encoding.ASCII.GetString(Frame.Decode(got.Data, bigEndian, crc)));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Ipc_sends_to_the_peer_when_Ipc_created_the_pipe(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        string text = $"NPipes to npipes, NPipes first, big={bigEndian} crc={crc}";
        Task sending = new Ipc(name, Options(bigEndian)).SendMessageAsync(text, crc, TestContext.Current.CancellationToken);
        await Within(Pipes.OnThread(() => WaitForPipe(name)));

        PeerReceipt got = await Within(NpipesPeer.ReceiveAsync(name));
        await Within(sending);

        Assert.False(got.CreatedPipe); // the peer met error 231 and connected, as npipes does against npipes
        Assert.Equal(0, got.ReadError);
        Assert.Equal(text, Encoding.ASCII.GetString(Frame.Decode(got.Data, bigEndian, crc)));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Ipc_receives_from_the_peer_started_first(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        string text = $"npipes to NPipes, peer first, big={bigEndian} crc={crc}";
        using var created = new ManualResetEventSlim();
        Task<int> peer = NpipesPeer.SendAsync(name, Frame.Encode(Encoding.ASCII.GetBytes(text), bigEndian, crc), created);
        Wait(created, "peer created the pipe");

        string got = await Within(new Ipc(name, Options(bigEndian)).ReceiveMessageAsync(crc, TestContext.Current.CancellationToken));
        await Within(peer);
        Assert.Equal(text, got);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Ipc_receiver_started_first_waits_for_the_peer_to_create_the_pipe(bool bigEndian, bool crc)
    {
        Require.Windows();
        string name = NewName();
        string text = $"npipes to NPipes, NPipes first, big={bigEndian} crc={crc}";
        Task<string> receiving = new Ipc(name, Options(bigEndian)).ReceiveMessageAsync(crc, TestContext.Current.CancellationToken);
        Assert.False(receiving.IsCompleted);

        // npipes' sender can only create the pipe: it must find the name free although the receiver is waiting.
        await Within(NpipesPeer.SendAsync(name, Frame.Encode(Encoding.ASCII.GetBytes(text), bigEndian, crc)));
        Assert.Equal(text, await Within(receiving));
    }

    [Fact]
    public async Task A_crc_mismatch_from_the_peer_is_a_typed_error()
    {
        Require.Windows();
        string name = NewName();
        byte[] frame = Frame.Encode(Encoding.ASCII.GetBytes("Hello"), bigEndian: true, crc: true);
        frame[9] ^= 1;
        Task<int> peer = NpipesPeer.SendAsync(name, frame);
        await Assert.ThrowsAsync<CrcMismatchException>(() => Within(new Ipc(name, Options(true)).ReceiveMessageAsync(crc: true, TestContext.Current.CancellationToken)));
        await Within(peer);
    }

    /// <summary>Waits (bounded) until the pipe exists, without connecting to it (WaitNamedPipe; File.Exists does not see pipes under Wine).</summary>
    internal static void WaitForPipe(string name)
    {
        var deadline = DateTime.UtcNow + Guard;
        while (!WaitNamedPipeW(NpipesPeer.PipePath(name), 1) && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != 121 /* ERROR_SEM_TIMEOUT: exists, busy */)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"pipe {name} never appeared");
            }
            Thread.Yield();
        }
    }

    [System.Runtime.InteropServices.DllImport("kernel32", CharSet = System.Runtime.InteropServices.CharSet.Unicode, SetLastError = true)]
    private static extern bool WaitNamedPipeW(string name, uint timeoutMs);
}
