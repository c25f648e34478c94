using System.Runtime.Versioning;
using System.Text;
using NPipes.Cli;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library;

/// <summary>
/// `npipes send` and `npipes receive` (the CLI's own code, run in-process through <see cref="CliApp"/>) against the
/// npipes peer, both directions and both start orders, both byte orders, CRC on and off. Tests run one at a time
/// (assembly-wide), so redirecting the console here is safe.
/// </summary>
[SupportedOSPlatform("windows")]
public class CliPeerTests
{
    public static readonly TheoryData<bool, bool> Formats = IpcPeerTests.Formats;

    private static string[] Flags(bool bigEndian, bool crc) =>
        crc ? ["--byte-order", bigEndian ? "big" : "little", "--crc", "--timeout", "10"] : ["--byte-order", bigEndian ? "big" : "little", "--timeout", "10"];

    private static async Task<(int Code, string Out, string Err)> RunCli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = await CliApp.RunAsync(args, TestContext.Current.CancellationToken);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Npipes_send_reaches_the_peer_in_both_start_orders(bool bigEndian, bool crc)
    {
        Require.Windows();
        foreach (bool peerFirst in new[] { true, false })
        {
            string name = NewName();
            string text = $"npipes send, peerFirst={peerFirst} big={bigEndian} crc={crc}";
            Task<PeerReceipt> peer;
            Task<(int, string, string)> cli;
            if (peerFirst)
            {
                using var ready = new ManualResetEventSlim();
                peer = NpipesPeer.ReceiveAsync(name, ready);
                Wait(ready, "peer created the pipe");
                cli = RunCli(["send", name, text, .. Flags(bigEndian, crc)]);
            }
            else
            {
                cli = RunCli(["send", name, text, .. Flags(bigEndian, crc)]);
                await Within(Pipes.OnThread(() => IpcPeerTests.WaitForPipe(name)));
                peer = NpipesPeer.ReceiveAsync(name);
            }
            PeerReceipt got = await Within(peer);
            var (code, _, err) = await Within(cli);
            Assert.True(code == 0, err);
            Assert.Equal(text, Encoding.ASCII.GetString(Frame.Decode(got.Data, bigEndian, crc)));
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Npipes_receive_gets_the_peers_message_in_both_start_orders(bool bigEndian, bool crc)
    {
        Require.Windows();
        foreach (bool peerFirst in new[] { true, false })
        {
            string name = NewName();
            string text = $"npipes receive, peerFirst={peerFirst} big={bigEndian} crc={crc}";
            byte[] frame = Frame.Encode(Encoding.ASCII.GetBytes(text), bigEndian, crc);
            Task<int> peer;
            Task<(int, string, string)> cli;
            if (peerFirst)
            {
                using var created = new ManualResetEventSlim();
                peer = NpipesPeer.SendAsync(name, frame, created);
                Wait(created, "peer created the pipe");
                cli = RunCli(["receive", name, .. Flags(bigEndian, crc)]);
            }
            else
            {
                cli = RunCli(["receive", name, .. Flags(bigEndian, crc)]);
                peer = NpipesPeer.SendAsync(name, frame);
            }
            var (code, stdout, err) = await Within(cli);
            await Within(peer);
            Assert.True(code == 0, err);
            Assert.Equal(text, stdout.TrimEnd('\r', '\n'));
        }
    }
}
