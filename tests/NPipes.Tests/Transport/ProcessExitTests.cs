using System.Diagnostics;
using NPipes.Tests.Cli;

namespace NPipes.Tests.Transport;

/// <summary>A server ended by normal process shutdown removes its own socket file (docs/unix-endpoint.md §9).</summary>
public class ProcessExitTests
{
    [Fact]
    public async Task A_server_whose_process_gets_SIGTERM_removes_its_socket_file()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "POSIX signals and socket files");
        string name = TestPipes.NewName();
        string dll = CliProcess.CliDll.Replace(Path.Combine("src", "NPipes.Cli"), Path.Combine("tests", "NPipes.ExitProbe"), StringComparison.Ordinal)
            .Replace("NPipes.Cli.dll", "NPipes.ExitProbe.dll", StringComparison.Ordinal);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false, ArgumentList = { dll, name } };
        using var server = Process.Start(psi)!;
        try
        {
            string? line = await server.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(CliProcess.StartPatience, TestContext.Current.CancellationToken);
            Assert.Equal("listening", line);
            string path = PipeNames.GetPath(name);
            Assert.True(File.Exists(path));
            using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-s", "TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!)
            {
                Assert.True(kill.WaitForExit(TestPipes.Patience), "kill did not finish");
            }
            using var cts = new CancellationTokenSource(CliProcess.StartPatience);
            await server.WaitForExitAsync(cts.Token);
            Assert.False(File.Exists(path), "the server stopped by SIGTERM left its socket file behind");
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill();
            }
        }
    }
}
