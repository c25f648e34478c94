using System.Runtime.Versioning;
using NPipes.Tests.Cli;
using NPipes.Tests.Messaging;

namespace NPipes.Tests.SharedMemory;

/// <summary>Shared memory through the facade and the CLI's --shared-memory (send, receive, echo, request).</summary>
[SupportedOSPlatform("linux")]
[Collection(SharedMemoryCollection.Name)]
public sealed class SharedMemoryCliTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A text above the default threshold that still fits one command-line argument (128 KiB).</summary>
    private static readonly string Large = string.Concat(Enumerable.Repeat("shared memory ", 7000));

    [Fact]
    public async Task Ipc_sends_and_receives_through_shared_memory_when_both_opt_in()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "shared memory exists on Linux only");
        string name = TestPipes.NewName();
        NPipesOptions options = ShmPeers.Options();
        Task<string> receiving = new Ipc(name, options).ReceiveMessageAsync(crc: true, Ct);
        await new Ipc(name, options).SendMessageAsync(Large, crc: true, Ct).WaitAsync(TestPipes.Patience, Ct);
        Assert.Equal(Large, await receiving.Within());
    }

    [Fact]
    public async Task Cli_send_and_receive_carry_a_large_message_through_shared_memory()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "shared memory exists on Linux only");
        string name = TestPipes.NewName();
        using var receiver = CliProcess.Start("receive", name, "--shared-memory", "--crc", "--timeout", "20");
        var (sent, _, sendErr) = await CliProcess.RunAsync("send", name, Large, "--shared-memory", "--crc", "--timeout", "20");
        Assert.True(sent == 0, sendErr);
        var (code, stdout, stderr) = await receiver.ExitAsync();
        Assert.True(code == 0, stderr);
        Assert.Equal(Large, stdout.TrimEnd('\n'));
    }

    [Fact]
    public async Task Cli_receive_without_the_option_says_the_peer_sends_shared_memory_frames()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "shared memory exists on Linux only");
        string name = TestPipes.NewName();
        using var receiver = CliProcess.Start("receive", name, "--timeout", "20");
        await CliProcess.RunAsync("send", name, Large, "--shared-memory", "--timeout", "20");
        var (code, _, stderr) = await receiver.ExitAsync();
        Assert.Equal(4, code);
        Assert.Contains("the peer sends shared-memory frames: use --shared-memory on both sides", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_echo_and_request_answer_large_messages_through_shared_memory()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "shared memory exists on Linux only");
        string name = TestPipes.NewName();
        var echo = CliProcess.Start("echo", name, "--shared-memory", "--crc");
        try
        {
            await echo.PipeExistsAsync(name);
            await using (PipeConnection client = await PipeConnection.ConnectAsync(name, ShmPeers.Options(), Ct))
            {
                byte[] payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(300_000);
                using PipeMessage reply = await client.RequestAsync(payload, Ct).Within();
                Assert.True(payload.AsSpan().SequenceEqual(reply.Payload.Span));
                Assert.Equal(1, ShmPeers.FilesCreated(client));
            }
            var (code, stdout, stderr) = await CliProcess.RunAsync("request", name, Large, "--shared-memory", "--crc", "--timeout", "20");
            Assert.True(code == 0, stderr);
            Assert.Equal(Large, stdout.TrimEnd('\n'));
        }
        finally
        {
            echo.Dispose();
            File.Delete(PipeNames.GetPath(name));
        }
    }
}
