using NPipes.Tests.Facade;

namespace NPipes.Tests.Cli;

/// <summary>
/// <c>--timeout</c> bounds the whole command, the transfer included: a peer that starts a message and stalls makes
/// <c>send</c> and <c>receive</c> exit 3 at the deadline, not when the peer lets go.
/// </summary>
public class CliTimeoutTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Receive_from_a_sender_that_stalls_after_the_header_exits_3()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        string name = TestPipes.NewName();
        using var peer = StallingPeer.Listen(name);
        Task<System.Net.Sockets.Socket> stalled = peer.AcceptAndSendAsync(StallingPeer.HeaderOnly(), Ct);
        using var receiver = CliProcess.Start("receive", name, "--timeout", "1");
        await stalled.WaitAsync(CliProcess.StartPatience, Ct);
        var (code, stdout, stderr) = await receiver.ExitAsync(); // bounded: a receive the timeout does not end fails the test
        Assert.True(code == 3, $"exit {code}; stderr: {stderr}");
        Assert.Equal("", stdout);
        Assert.Equal($"npipes: receive on pipe '{name}': timed out after 1 s" + Environment.NewLine, stderr);
    }

    [Fact]
    public async Task Send_to_a_receiver_that_never_reads_exits_3()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        string name = TestPipes.NewName();
        using var peer = StallingPeer.Listen(name);
        Task<System.Net.Sockets.Socket> accepted = peer.AcceptAndSendAsync([], Ct);
        using var sender = CliProcess.Start("send", name, "nobody reads this", "--timeout", "1");
        await accepted.WaitAsync(CliProcess.StartPatience, Ct);
        var (code, _, stderr) = await sender.ExitAsync();
        Assert.True(code == 3, $"exit {code}; stderr: {stderr}");
        Assert.Equal($"npipes: send on pipe '{name}': timed out after 1 s" + Environment.NewLine, stderr);
    }
}
