using System.Diagnostics;
using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary><c>npipes rpc serve</c> and <c>npipes rpc call</c> as separate processes, with their exit codes.</summary>
public class CliTests
{
    private static string CliDll
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            string dll = Path.Combine(Rpc.RepoRoot, "src", "NPipes.Cli", "bin", configuration, "net10.0", "NPipes.Cli.dll");
            Assert.True(File.Exists(dll), "CLI not built: " + dll);
            return dll;
        }
    }

    private static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliDll);
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        Process process = Process.Start(psi)!;
        process.StandardInput.Close();
        return process;
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using Process process = Start(args);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(Rpc.Ct);
        Task<string> stderr = process.StandardError.ReadToEndAsync(Rpc.Ct);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"npipes {string.Join(' ', args)} did not exit within 30 s");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts <c>npipes rpc serve</c> on a new name and waits for its "serving" line.</summary>
    private static async Task<(Process Server, string Name)> ServeAsync(params string[] options)
    {
        string name = Rpc.NewName();
        Process server = Start(["rpc", "serve", name, .. options]);
        string? line = await server.StandardOutput.ReadLineAsync(Rpc.Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Rpc.Ct);
        Assert.StartsWith($"npipes rpc: serving '{name}'", line);
        return (server, name);
    }

    private static void Stop(Process server)
    {
        if (!server.HasExited)
        {
            server.Kill(entireProcessTree: true);
        }
        server.Dispose();
    }

    [Fact]
    public async Task Call_whose_connection_is_lost_exits_1_not_as_a_remote_error()
    {
        // The server has CRC on and the caller not: the server closes the connection at the first frame, unanswered.
        var (server, name) = await ServeAsync("--crc");
        try
        {
            var (code, stdout, stderr) = await RunAsync("rpc", "call", name, "echo", "\"hi\"", "--timeout", "20");
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            Assert.StartsWith("npipes rpc: connection lost before 'echo' was answered", stderr);
            Assert.Contains("a server closes a connection whose frame it cannot read: check that both sides use the same CRC setting", stderr);
            Assert.DoesNotContain("error :", stderr);
            Assert.Single(stderr.TrimEnd().Split('\n'));
        }
        finally
        {
            Stop(server);
        }
    }

    [Fact]
    public async Task Rpc_help_lists_call_with_any_number_of_ARGs()
    {
        var (code, stdout, _) = await RunAsync("rpc", "--help");
        Assert.Equal(0, code);
        Assert.Contains("call <NAME> <METHOD> <ARG...>", stdout);
        Assert.DoesNotContain("<ARG> ", stdout);
    }

    [Fact]
    public async Task Call_prints_results_as_json_and_remote_errors_exit_4_with_their_code()
    {
        var (server, name) = await ServeAsync("--crc");
        try
        {
            // Five client processes at once (each starts a .NET runtime: sequentially they would take most of the test's time).
            var runs = await Task.WhenAll(
                RunAsync("rpc", "call", name, "echo", "\"hi there\"", "--crc"),
                RunAsync("rpc", "call", name, "add", "1", "2.5", "--crc"),
                RunAsync("rpc", "call", name, "fail", "42", "\"boom\"", "--crc"),
                RunAsync("rpc", "call", name, "no_such_method", "--crc"),
                RunAsync("rpc", "call", name, "add", "\"x\"", "2", "--crc"));
            Assert.Equal((0, "\"hi there\"\n", ""), runs[0]);
            Assert.Equal((0, "3.5\n", ""), runs[1]);
            Assert.Equal((4, "", "npipes rpc: error 42: boom\n"), runs[2]);
            Assert.Equal(4, runs[3].Code);
            Assert.StartsWith("npipes rpc: error -32601: ", runs[3].Err);
            Assert.Single(runs[3].Err.TrimEnd('\n').Split('\n'));
            Assert.Equal(4, runs[4].Code);
            Assert.StartsWith("npipes rpc: error -32602: ", runs[4].Err);
        }
        finally
        {
            Stop(server);
        }
    }

    [Fact]
    public async Task A_call_that_times_out_exits_3_and_a_bad_argument_exits_2()
    {
        var (server, name) = await ServeAsync();
        try
        {
            var runs = await Task.WhenAll(
                RunAsync("rpc", "call", name, "sleep", "600000", "--timeout", "0.5"),
                RunAsync("rpc", "call", name, "echo", "not-json"),
                RunAsync("rpc", "call", Rpc.NewName(), "echo", "\"x\"", "--timeout", "0.3"));
            Assert.Equal(3, runs[0].Code);
            Assert.StartsWith("npipes rpc: timed out: no reply to ", runs[0].Err);
            Assert.Equal(2, runs[1].Code);
            Assert.Contains("JSON", runs[1].Err);
            Assert.Equal(3, runs[2].Code); // no server at all
        }
        finally
        {
            Stop(server);
        }
    }

    [Fact]
    public async Task Killing_the_server_process_mid_call_fails_every_pending_call_with_a_typed_error()
    {
        var (server, name) = await ServeAsync("--crc");
        try
        {
            PipeConnection connection = await PipeConnection.ConnectAsync(name, Rpc.Options(crc: true), Rpc.Ct);
            using JsonRpc client = connection.AttachJsonRpc();
            Task<int>[] sleeping = [.. Enumerable.Range(0, 10).Select(_ => client.InvokeWithCancellationAsync<int>("sleep", [600_000], Rpc.Ct))];
            // Answered after the ten were read (the server reads in order): all ten are running in the server process.
            Assert.Equal("ready", await client.InvokeWithCancellationAsync<string>("echo", ["ready"], Rpc.Ct).Bounded());
            server.Kill(entireProcessTree: true);
            foreach (Task<int> call in sleeping)
            {
                await Assert.ThrowsAsync<ConnectionLostException>(() => call.Bounded());
            }
        }
        finally
        {
            Stop(server);
        }
    }

    [Fact]
    public async Task Serve_stops_cleanly_on_sigterm_and_a_dotnet_client_can_use_its_target()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGTERM is a Unix signal.");
        var (server, name) = await ServeAsync();
        try
        {
            PipeConnection connection = await PipeConnection.ConnectAsync(name, Rpc.Options(crc: false), Rpc.Ct);
            using JsonRpc client = connection.AttachJsonRpc();
            Assert.Equal(5.0, await client.InvokeWithCancellationAsync<double>("add", [2, 3], Rpc.Ct).Bounded());
            using (Process kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(Rpc.Ct).WaitAsync(Rpc.Patience, Rpc.Ct);
            }
            await server.WaitForExitAsync(Rpc.Ct).WaitAsync(TimeSpan.FromSeconds(30), Rpc.Ct);
            Assert.Equal(0, server.ExitCode);
            await client.Completion.Bounded(); // the server closed the idle connection as it stopped
        }
        finally
        {
            Stop(server);
        }
    }
}
