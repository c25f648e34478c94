using System.IO.Pipes;

namespace NPipes.Tests.Cli;

/// <summary>
/// Every error is ONE line a person understands, "npipes: " first: no .NET type names, no "(Parameter 'name')", the
/// argparse wording the Python CLI uses (python/tests/test_cli_interop.py checks both CLIs print the same line), and a
/// hint where the two sides likely disagree.
/// </summary>
public class CliErrorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("", "the following arguments are required: COMMAND (see 'npipes --help')")]
    [InlineData("sned n x", "unknown command 'sned'; did you mean 'send'? (see 'npipes --help')")]
    [InlineData("recieve n", "unknown command 'recieve'; did you mean 'receive'? (see 'npipes --help')")]
    [InlineData("frame bogus", "unknown command 'bogus'; the commands are encode, decode (see 'npipes frame --help')")]
    [InlineData("frame", "the following arguments are required: COMMAND (see 'npipes frame --help')")]
    [InlineData("send n", "the following arguments are required: TEXT (see 'npipes send --help')")]
    [InlineData("receive n --timeout abc", "argument --timeout: must be a number of seconds >= 0, not 'abc' (see 'npipes receive --help')")]
    [InlineData("receive n --timeout -1", "argument --timeout: must be a number of seconds >= 0, not '-1' (see 'npipes receive --help')")]
    [InlineData("receive n --timeout", "argument --timeout: expected one argument (see 'npipes receive --help')")]
    [InlineData("receive n --count 0", "argument --count: must be a whole number >= 1, not '0' (see 'npipes receive --help')")]
    [InlineData("send n x --byte-order litle", "argument --byte-order: 'litle' is not one of big, little; did you mean 'little'? (see 'npipes send --help')")]
    [InlineData("send n x --encoding utf-16", "argument --encoding: 'utf-16' is not one of ascii, utf-8, utf8, latin-1, latin1; did you mean 'utf-8'? (see 'npipes send --help')")]
    [InlineData("send n x --bogus", "unrecognized arguments: --bogus (see 'npipes --help')")]
    [InlineData("send n x --crc yes", "unrecognized arguments: yes (see 'npipes --help')")]
    [InlineData("echo n --idle-timeout 0", "argument --idle-timeout: must be more than 0 seconds, not '0' (see 'npipes echo --help')")]
    [InlineData("bench --runs 1", "argument --runs: must be a whole number >= 3, not '1' (see 'npipes bench --help')")]
    [InlineData("frame decode zz", "HEX is not an even number of hexadecimal digits (spaces allowed)")]
    public async Task Usage_errors_are_one_line_and_exit_2(string args, string line)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("npipes: " + line + Environment.NewLine, stderr);
    }

    [Theory]
    [InlineData("frame decode 0000000d0000000548656c6c6f00000001 --crc", "CRC-32 mismatch: the frame carries 0x00000001, the payload's is 0xf7d18982; the payload was changed, or its CRC computed another way")]
    [InlineData("frame decode 0000000d0000000548656c6c6f00000000 --crc", "CRC-32 mismatch: the frame carries 0x00000000, the payload's is 0xf7d18982; the frame carries no CRC (field 0): use --crc on both sides, or on neither")]
    [InlineData("frame encode café", "the text is not ASCII: try --encoding utf-8 (both sides must use the same)")]
    [InlineData("frame encode € --encoding latin-1", "the text is not Latin-1: try --encoding utf-8 (both sides must use the same)")]
    [InlineData("frame decode 0000000a00000002c3a900000000", "the message is not ASCII text: try --encoding utf-8 (both sides must use the same)")]
    [InlineData("frame decode 0000000a00000002e9e900000000 --encoding utf-8", "the message is not UTF-8 text: try --encoding latin-1 (both sides must use the same)")]
    [InlineData("frame decode 0000000d0000000548656c6c", "the frame is cut short: HEX holds fewer bytes than its lengths say")]
    [InlineData("frame decode 0000000e0000000548656c6c6f00000000", "not an npipes frame: MessageLength 14 is not DataLength 5 + 8; does the peer use another --byte-order?")]
    [InlineData("frame decode 8000002800000020" + "0000000000000000000000000000000000000000000000000000000000000000" + "00000000",
        "the peer sends shared-memory frames: use --shared-memory on both sides, or on neither")]
    public async Task Data_errors_are_one_line_with_a_hint_and_exit_4(string args, string line)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(args.Split(' '));
        Assert.Equal(4, code);
        Assert.Equal("", stdout);
        Assert.Equal("npipes: " + line + Environment.NewLine, stderr);
    }

    [Fact]
    public async Task Text_on_stdin_that_the_encoding_cannot_carry_says_so_and_exits_4()
    {
        using var cli = CliProcess.Start("héllo"u8.ToArray(), "frame", "encode", "-");
        var (code, _, stderr) = await cli.ExitAsync();
        Assert.Equal(4, code);
        Assert.Equal("npipes: standard input is not ASCII text: try --encoding utf-8 (both sides must use the same)" + Environment.NewLine, stderr);
    }

    [Fact]
    public async Task A_request_the_server_closes_unanswered_says_what_usually_causes_it()
    {
        // A server with CRC on closes the connection of a client whose frame carries none: the client learns why it
        // usually happens, from the library (ConnectionClosedException) and from the CLI.
        string name = TestPipes.NewName();
        var crcOn = new PipeServerOptions { Connection = TestPipes.Options(new FrameOptions { Crc = true }), DrainTimeout = TimeSpan.Zero };
        await using PipeServer server = PipeServer.Listen(name, crcOn);
        Task serving = server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload), Ct);

        await using (PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct))
        {
            var e = await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.RequestAsync("no crc", TestPipes.Patience, Ct));
            Assert.Equal(DisconnectReason.PeerClosed, e.Reason);
            Assert.Equal(
                "The server closed the connection without replying; a server closes a connection whose frame it cannot read: " +
                "check that both sides use the same CRC setting, byte order, encoding and maximum message size.", e.Message);
        }

        var (code, stdout, stderr) = await CliProcess.RunAsync("request", name, "no crc either", "--timeout", "20");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            "npipes: the server closed the connection without replying; a server closes a connection whose frame it cannot read: " +
            "check that both sides use the same CRC setting, byte order, encoding and maximum message size" + Environment.NewLine, stderr);
        await server.StopAsync(TimeSpan.Zero, Ct);
        await serving.WaitAsync(TestPipes.Patience, Ct);
    }

    [Fact]
    public async Task Echo_takes_the_server_limits_and_its_serving_line_shows_them()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "the socket file is removed by SIGTERM (Unix)");
        string name = TestPipes.NewName();
        using var echo = CliProcess.Start("echo", name, "--max-connections", "3", "--idle-timeout", "30", "--frame-timeout", "0.2");
        await echo.PipeExistsAsync(name);
        // A client that starts a frame and never finishes it is closed at the frame timeout; the server goes on.
        using (var trickler = new NamedPipeClientStream(".", name, PipeDirection.InOut, PipeOptions.Asynchronous))
        {
            await trickler.ConnectAsync(Ct);
            await trickler.WriteAsync(new byte[] { 0, 0, 0 }, Ct);
            Assert.Equal(0, await trickler.ReadAsync(new byte[1], Ct).AsTask().WaitAsync(TestPipes.Patience, Ct));
        }
        await using (PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct))
        {
            Assert.Equal("still serving", await client.RequestAsync("still serving", TestPipes.Patience, Ct));
        }
        echo.Signal("TERM");
        var (code, stdout, stderr) = await echo.ExitAsync();
        Assert.True(code == 0, stderr);
        Assert.Equal(
            $"npipes echo: serving '{name}' at {PipeNames.GetPath(name)} (max connections 3, idle timeout 30 s, frame timeout 0.2 s)" + Environment.NewLine,
            stdout);
    }

    [Fact]
    public async Task Receive_json_writes_text_unescaped_as_the_python_cli_does()
    {
        string name = TestPipes.NewName();
        using var receiver = CliProcess.Start("receive", name, "--json", "--encoding", "utf-8", "--timeout", "20");
        var options = TestPipes.Options(new FrameOptions { Encoding = TextEncodings.Utf8 });
        await new Ipc(name, options).SendMessageAsync("β \"q\" \\ \t\u0001\u007f\u2028😀", cancellationToken: Ct);
        var (code, stdout, stderr) = await receiver.ExitAsync();
        Assert.True(code == 0, stderr);
        int bytes = System.Text.Encoding.UTF8.GetByteCount("β \"q\" \\ \t\u0001\u007f\u2028😀");
        Assert.Equal("{\"text\":\"β \\\"q\\\" \\\\ \\t\\u0001\u007f\u2028😀\",\"bytes\":" + bytes + ",\"crc\":\"00000000\"}" + Environment.NewLine, stdout);
    }
}
