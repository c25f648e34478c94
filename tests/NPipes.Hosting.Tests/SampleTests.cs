using System.Diagnostics;

namespace NPipes.Hosting.Tests;

/// <summary>
/// samples/WorkerService (a worker service on NPipes.Hosting) answering samples/python_client.py (python/npipes), as a
/// user would run them: two processes, the service stopped with SIGTERM (graceful shutdown).
/// </summary>
public sealed class SampleTests
{
    [Fact]
    public async Task The_python_client_gets_replies_from_the_worker_service_sample()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("The sample test stops the service with SIGTERM (Unix); the Windows lane does not run it.");
        }
        string python = FindPython() ?? throw new InvalidOperationException("python3 is needed to run samples/python_client.py");
        string name = Bounded.NewName();
        string root = Bounded.RepoRoot;
        string service = Path.Combine(root, "samples", "WorkerService", "bin", "Release", "net10.0", "WorkerService.dll");
        Assert.True(File.Exists(service), $"The sample is not built: {service}");

        using Process server = Start("dotnet", [service, "--PipeName", name], Path.GetDirectoryName(service)!);
        Task<string> serverOutput = server.StandardOutput.ReadToEndAsync(Bounded.Ct);
        Task<string> serverErrors = server.StandardError.ReadToEndAsync(Bounded.Ct);
        try
        {
            using Process client = Start(python, [Path.Combine(root, "samples", "python_client.py"), name, "hello from python", "named pipes"], root);
            string replies = await client.StandardOutput.ReadToEndAsync(Bounded.Ct).WaitAsync(TimeSpan.FromSeconds(60), Bounded.Ct);
            string clientErrors = await client.StandardError.ReadToEndAsync(Bounded.Ct);
            await client.WaitForExitAsync(Bounded.Ct).WaitAsync(Bounded.Patience, Bounded.Ct);
            Assert.True(client.ExitCode == 0, $"python_client.py exited {client.ExitCode}: {clientErrors}");
            Assert.Equal(["hello from python -> 1: HELLO FROM PYTHON", "named pipes -> 2: NAMED PIPES"], replies.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        finally
        {
            using Process term = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync(Bounded.Ct);
            if (!server.WaitForExit(Bounded.Patience))
            {
                server.Kill(entireProcessTree: true);
            }
        }
        string log = await serverOutput.WaitAsync(Bounded.Patience, Bounded.Ct);
        Assert.True(server.ExitCode == 0, $"the sample exited {server.ExitCode}: {await serverErrors}\n{log}");
        Assert.Contains($"Listening on pipe '{name}'", log);
        Assert.Contains($"Stopped serving pipe '{name}'", log);
    }

    private static Process Start(string file, string[] args, string directory)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static string? FindPython() =>
        new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.FirstOrDefault(File.Exists);
}
