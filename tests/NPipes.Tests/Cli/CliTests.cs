using System.Text.Json;

namespace NPipes.Tests.Cli;

/// <summary>The CLI contract at process level: send and receive across processes, and every exit code.</summary>
public class CliTests
{
    [Theory]
    [InlineData("big", false)]
    [InlineData("big", true)]
    [InlineData("little", false)]
    [InlineData("little", true)]
    public async Task Send_and_receive_across_two_processes(string order, bool crc)
    {
        string name = TestPipes.NewName();
        string[] opts = crc ? ["--byte-order", order, "--crc", "--timeout", "20"] : ["--byte-order", order, "--timeout", "20"];
        using var receiver = CliProcess.Start(["receive", name, .. opts]);
        using var sender = CliProcess.Start(["send", name, "hello from a process", .. opts]);
        var (sendCode, _, sendErr) = await sender.ExitAsync();
        var (code, stdout, stderr) = await receiver.ExitAsync();
        Assert.True(sendCode == 0, sendErr);
        Assert.True(code == 0, stderr);
        Assert.Equal("hello from a process" + Environment.NewLine, stdout);
    }

    [Fact]
    public async Task Send_dash_reads_stdin_byte_for_byte_and_receive_json_reports_bytes_and_crc()
    {
        string name = TestPipes.NewName();
        byte[] input = "line one\nline\0two\n"u8.ToArray();
        using var receiver = CliProcess.Start(["receive", name, "--json", "--crc", "--timeout", "20"]);
        using var sender = CliProcess.Start(input, ["send", name, "-", "--crc", "--timeout", "20"]);
        Assert.Equal(0, (await sender.ExitAsync()).Code);
        var (code, stdout, stderr) = await receiver.ExitAsync();
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("line one\nline\0two\n", json.RootElement.GetProperty("text").GetString());
        Assert.Equal(input.Length, json.RootElement.GetProperty("bytes").GetInt32());
        Assert.Equal(FrameCodec.ComputeCrc(input).ToString("x8"), json.RootElement.GetProperty("crc").GetString());
    }

    [Fact]
    public async Task Receive_count_serves_several_connections()
    {
        string name = TestPipes.NewName();
        using var receiver = CliProcess.Start("receive", name, "--count", "3", "--timeout", "20");
        for (int i = 1; i <= 3; i++)
        {
            await new Ipc(name, TestPipes.Options()).SendMessageAsync("msg " + i, cancellationToken: TestContext.Current.CancellationToken);
        }
        var (code, stdout, stderr) = await receiver.ExitAsync();
        Assert.True(code == 0, stderr);
        Assert.Equal(["msg 1", "msg 2", "msg 3"], stdout.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Frame_encode_prints_npipes_bytes_and_decode_round_trips()
    {
        var (code, stdout, _) = await CliProcess.RunAsync("frame", "encode", "Hello", "--crc");
        Assert.Equal(0, code);
        Assert.Equal("0000000d0000000548656c6c6ff7d18982", stdout.Trim());
        (code, stdout, _) = await CliProcess.RunAsync("frame", "decode", "0d0000000500000048656c6c6f8289d1f7", "--crc", "--byte-order", "little");
        Assert.Equal(0, code);
        Assert.Equal("Hello", stdout.Trim());
    }

    [Fact]
    public async Task Exit_2_for_usage_errors()
    {
        Assert.Equal(2, (await CliProcess.RunAsync("send")).Code);
        Assert.Equal(2, (await CliProcess.RunAsync("receive", "x", "--byte-order", "middle")).Code);
        Assert.Equal(2, (await CliProcess.RunAsync("frame", "decode", "zz")).Code);
        var (code, _, stderr) = await CliProcess.RunAsync("send", "a/b", "x", "--timeout", "1");
        Assert.Equal(2, code);
        Assert.Contains("path separator", stderr);
        Assert.DoesNotContain("(Parameter", stderr);
        Assert.DoesNotContain("Exception", stderr);
    }

    [Fact]
    public async Task Exit_3_for_a_timeout_with_one_clear_line_on_stderr()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync("receive", TestPipes.NewName(), "--timeout", "0.3");
        Assert.Equal(3, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^npipes: receive on pipe '[^']+': timed out after 0\.3 s\r?\n$", stderr);
    }

    [Fact]
    public async Task Exit_4_for_data_errors()
    {
        var (code, _, stderr) = await CliProcess.RunAsync("frame", "decode", "0000000d0000000548656c6c6f00000001", "--crc");
        Assert.Equal(4, code);
        Assert.Equal("npipes: CRC-32 mismatch: the frame carries 0x00000001, the payload's is 0xf7d18982; the payload was changed, or its CRC computed another way", stderr.TrimEnd());

        string name = TestPipes.NewName();
        using var receiver = CliProcess.Start("receive", name, "--crc", "--timeout", "20");
        await new Ipc(name, TestPipes.Options()).SendMessageAsync("no crc sent", crc: false, TestContext.Current.CancellationToken);
        (code, _, stderr) = await receiver.ExitAsync();
        Assert.Equal(4, code);
        Assert.EndsWith("; the frame carries no CRC (field 0): use --crc on both sides, or on neither", stderr.TrimEnd());
    }

    [Fact]
    public async Task Echo_serves_concurrent_clients_and_request_prints_the_reply()
    {
        string name = TestPipes.NewName();
        var echo = CliProcess.Start("echo", name, "--crc", "--byte-order", "little");
        try
        {
            var options = TestPipes.Options(new FrameOptions { Crc = true, ByteOrder = ByteOrder.LittleEndian });
            var clients = Enumerable.Range(0, 4).Select(async c =>
            {
                await using var conn = await PipeConnection.ConnectAsync(name, options, TestContext.Current.CancellationToken);
                for (int i = 0; i < 50; i++)
                {
                    Assert.Equal($"c{c} m{i}", await conn.RequestAsync($"c{c} m{i}", TestContext.Current.CancellationToken));
                }
            });
            await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            var (code, stdout, stderr) = await CliProcess.RunAsync("request", name, "via the CLI", "--crc", "--byte-order", "little", "--timeout", "20");
            Assert.True(code == 0, stderr);
            Assert.Equal("via the CLI", stdout.Trim());
        }
        finally
        {
            // Disposing kills the echo server with SIGKILL, which leaves its socket file behind: remove the file this
            // test caused (its name is this test's own random one).
            echo.Dispose();
            File.Delete(PipeNames.GetPath(name));
        }
    }

    [Fact]
    public async Task Request_to_a_missing_server_exits_3()
    {
        var (code, _, stderr) = await CliProcess.RunAsync("request", TestPipes.NewName(), "anyone?", "--timeout", "0.3");
        Assert.Equal(3, code);
        Assert.Contains("request on pipe", stderr);
    }

    [Fact]
    public async Task Bench_prints_one_figure_line_in_the_documented_format()
    {
        // Format only: figures are for the benchmark program, never asserted in tests.
        var (code, stdout, stderr) = await CliProcess.RunAsync("bench", "--only", "alloc_per_msg_send");
        Assert.True(code == 0, stderr);
        string line = stdout.Split('\n').Single(l => l.StartsWith("alloc_per_msg_send ", StringComparison.Ordinal));
        Assert.Matches(@"^alloc_per_msg_send npipes=[0-9.]+ unit=bytes/msg runs=3 ", line);
    }

    [Fact]
    public async Task Bench_refuses_fewer_than_three_runs()
    {
        Assert.Equal(2, (await CliProcess.RunAsync("bench", "--runs", "1")).Code);
    }

    [Fact]
    public async Task Demo_runs_and_says_OK()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync("demo");
        Assert.True(code == 0, stderr);
        Assert.Contains("demo OK", stdout);
    }
}
