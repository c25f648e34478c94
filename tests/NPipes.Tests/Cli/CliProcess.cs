using System.Diagnostics;

namespace NPipes.Tests.Cli;

/// <summary>Runs the built <c>npipes</c> CLI as a separate process.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    private CliProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>How long a test waits for the CLI to start and act: a .NET start on a loaded machine can take more than <see cref="TestPipes.Patience"/>.</summary>
    public static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(30);

    public static string CliDll
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) || AppContext.BaseDirectory.Contains("\\Release\\", StringComparison.Ordinal) ? "Release" : "Debug";
            string dll = Path.Combine(TestPipes.RepoRoot, "src", "NPipes.Cli", "bin", configuration, "net10.0", "NPipes.Cli.dll");
            Assert.True(File.Exists(dll), "CLI not built: " + dll);
            return dll;
        }
    }

    public static CliProcess Start(params string[] args) => Start(null, args);

    public static CliProcess Start(byte[]? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(CliDll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi)!;
        if (stdin is not null)
        {
            process.StandardInput.BaseStream.Write(stdin);
        }
        process.StandardInput.Close();
        return new CliProcess(process);
    }

    /// <summary>Waits for exit (bounded) and returns exit code, stdout and stderr.</summary>
    public async Task<(int Code, string Out, string Err)> ExitAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail("npipes did not exit within 30 s; stderr: " + await _stderr);
        }
        return (_process.ExitCode, await _stdout, await _stderr);
    }

    public static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => Start(args).ExitAsync();

    /// <summary>
    /// Waits until the CLI's pipe exists (its socket file on Unix): the command has started and its signal handlers are
    /// in place. Bounded by <see cref="StartPatience"/>; fails at once if the CLI exits first.
    /// </summary>
    public async Task PipeExistsAsync(string name)
    {
        var deadline = DateTime.UtcNow + StartPatience;
        while (!File.Exists(PipeNames.GetPath(name)))
        {
            if (_process.HasExited)
            {
                Assert.Fail($"npipes exited ({_process.ExitCode}) before creating pipe '{name}': {await _stderr}");
            }
            Assert.True(DateTime.UtcNow < deadline, $"npipes did not create pipe '{name}' within 30 s");
            await Task.Delay(5);
        }
    }

    /// <summary>Sends a signal (INT, TERM) to the CLI process with kill(1), as a shell or a service manager would.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-s", signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        Assert.True(kill.WaitForExit(TestPipes.Patience), "kill did not finish");
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Kills the process (SIGKILL on Unix) if it is still running, and waits (bounded) until it is gone.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        _process.Dispose();
    }
}
