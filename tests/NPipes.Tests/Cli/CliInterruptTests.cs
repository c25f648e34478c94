namespace NPipes.Tests.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM across processes: a send, receive or request stopped before it finished exits 128 + the
/// signal (130 for SIGINT, 143 for SIGTERM), so a script can tell an interrupted send from a delivered one (exit 0); echo,
/// a server, exits 0 when stopped.
/// </summary>
public class CliInterruptTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Checks the exit of an interrupted command: 128 + the signal and the one line saying so (not a process killed by the signal's default action).</summary>
    private static async Task AssertInterruptedAsync(CliProcess cli, string signal)
    {
        var (code, _, stderr) = await cli.ExitAsync();
        int expected = signal == "TERM" ? 143 : 130;
        Assert.True(code == expected, $"exit {code}, expected {expected}; stderr: {stderr}");
        Assert.Equal("npipes: interrupted", stderr.Trim());
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task A_send_waiting_for_a_receiver_exits_128_plus_the_signal_and_releases_the_pipe(string signal)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "POSIX signals");
        string name = TestPipes.NewName();
        using var sender = CliProcess.Start("send", name, "never delivered");
        await sender.PipeExistsAsync(name); // the sender holds the pipe and waits: its handlers are in place
        sender.Signal(signal);
        await AssertInterruptedAsync(sender, signal);
        Assert.False(File.Exists(PipeNames.GetPath(name)), "the interrupted sender left its socket file behind");
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task A_receive_waiting_for_a_sender_exits_128_plus_the_signal(string signal)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "POSIX signals");
        string name = TestPipes.NewName();
        using var receiver = CliProcess.Start("receive", name);
        await receiver.PipeExistsAsync(name);
        receiver.Signal(signal);
        await AssertInterruptedAsync(receiver, signal);
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task A_request_waiting_for_its_reply_exits_128_plus_the_signal(string signal)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "POSIX signals");
        string name = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options(), DrainTimeout = TimeSpan.Zero });
        using var requester = CliProcess.Start("request", name, "no answer comes");
        await using PipeConnection connection = await server.AcceptAsync(Ct).AsTask().WaitAsync(CliProcess.StartPatience, Ct);
        using (PipeMessage? request = await connection.ReceiveAsync(Ct).AsTask().WaitAsync(TestPipes.Patience, Ct))
        {
            Assert.Equal("no answer comes", request?.GetText()); // the request is out: the CLI now waits for the reply
        }
        requester.Signal(signal);
        await AssertInterruptedAsync(requester, signal);
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task Echo_stopped_by_a_signal_exits_0(string signal)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "POSIX signals");
        string name = TestPipes.NewName();
        using var echo = CliProcess.Start("echo", name);
        await echo.PipeExistsAsync(name);
        await using (PipeConnection probe = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct))
        {
            Assert.Equal("ping", await probe.RequestAsync("ping", TestPipes.Patience, Ct)); // serving before it is stopped
        }
        echo.Signal(signal);
        var (code, stdout, stderr) = await echo.ExitAsync();
        Assert.True(code == 0, $"exit {code}; stderr: {stderr}");
        Assert.Contains("serving", stdout);
        Assert.False(File.Exists(PipeNames.GetPath(name)), "the stopped server left its socket file behind");
    }
}
