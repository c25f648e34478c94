using System.Diagnostics;
using NPipes.Tests.Cli;

namespace NPipes.Tests.Hostile;

/// <summary>
/// Servers that outlive descriptor exhaustion (docs/reliability.md, "Descriptor exhaustion"): the CLI's servers run as
/// child processes under a lowered RLIMIT_NOFILE (256) with default options; a python3 client opens 400 idle
/// connections (and, for the RPC server, a burst of connect-and-close clients), then checks that its first connection
/// is still served, closes the idle ones and that a new client is served. Before the default limit left headroom under
/// RLIMIT_NOFILE, the server aborted ("Out of memory.": the runtime could not start a thread).
/// </summary>
[Collection(nameof(HostileCollection))]
public class DescriptorExhaustionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1024L, 768)]
    [InlineData(256L, 128)]
    [InlineData(200L, 72)]
    [InlineData(100L, 1)]
    [InlineData(4096L, 1024)]
    [InlineData(long.MaxValue, 1024)]
    [InlineData(null, 1024)]
    public void The_default_connection_limit_leaves_descriptors_for_the_runtime(long? openFiles, int expected)
    {
        Assert.Equal(expected, NPipes.Transport.DescriptorLimit.MaxConnectionsFor(openFiles));
        Assert.Equal(NPipes.Transport.DescriptorLimit.MaxConnectionsFor(NPipes.Transport.DescriptorLimit.Current), new PipeServerOptions().MaxConnections);
    }

    [Theory]
    [InlineData("echo", 400, 0)]
    [InlineData("rpc", 400, 1500)]
    public async Task A_cli_server_under_a_low_descriptor_limit_survives_idle_clients_and_a_burst_and_accepts_again(string mode, int idle, int burst)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "RLIMIT_NOFILE is a Unix limit");
        string? python = Hostiles.Python3();
        Assert.SkipWhen(python is null || !File.Exists("/usr/bin/prlimit"), "needs python3 and prlimit (util-linux)");
        string name = TestPipes.NewName();
        var psi = new ProcessStartInfo("/usr/bin/prlimit") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["--nofile=256", "dotnet", CliProcess.CliDll, .. mode == "rpc" ? ["rpc", "serve", name] : new[] { "echo", name }])
        {
            psi.ArgumentList.Add(a);
        }
        using Process server = Process.Start(psi)!;
        Task<string> serverErrors = server.StandardError.ReadToEndAsync(Ct);
        try
        {
            string? serving = await server.StandardOutput.ReadLineAsync(Ct).AsTask().WaitAsync(CliProcess.StartPatience, Ct);
            Assert.Contains("serving", serving, StringComparison.Ordinal);
            using Process clients = PyPeers.Start(python!, ExhaustionClients.Script, [PipeNames.GetPath(name), mode, idle.ToString(System.Globalization.CultureInfo.InvariantCulture), burst.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            string output = await clients.StandardOutput.ReadToEndAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
            await clients.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
            TestContext.Current.TestOutputHelper?.WriteLine(output);
            Assert.False(server.HasExited, $"the server exited ({(server.HasExited ? server.ExitCode : 0)}): {(server.HasExited ? await serverErrors : "")}\n{output}");
            string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 5, output + await clients.StandardError.ReadToEndAsync(Ct));
            Assert.Equal("first ok", lines[0]);
            Assert.Equal($"opened {idle}", lines[1]);
            Assert.Equal("existing ok", lines[2]); // served while the idle clients held (or were refused) their descriptors
            Assert.StartsWith("new ok", lines[3], StringComparison.Ordinal); // accepted again once they closed
            Assert.Equal("existing ok", lines[4]);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
            await server.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        }
    }
}
