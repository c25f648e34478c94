using System.Diagnostics;

namespace NPipes.RpcTests;

/// <summary>Runs a program to its end (bounded) and returns what it printed: the npipes CLI, python3, mypy.</summary>
internal static class Tool
{
    /// <summary>The output of a finished program.</summary>
    public sealed record Output(int Code, string Out, string Err)
    {
        public override string ToString() => $"exit {Code}\nstdout:\n{Out}\nstderr:\n{Err}";
    }

    /// <summary>The arguments that run the npipes CLI of this build (the test project builds it first) with <paramref name="args"/>, for <c>dotnet</c>.</summary>
    public static string[] Npipes(params string[] args)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        return [Path.Combine(Rpc.RepoRoot, "src", "NPipes.Cli", "bin", configuration, "net10.0", "NPipes.Cli.dll"), .. args];
    }

    /// <summary>Runs the npipes CLI to its end.</summary>
    public static Task<Output> NpipesAsync(params string[] args) => RunAsync("dotnet", Npipes(args));

    /// <summary>Starts <paramref name="program"/> (found on PATH) with <paramref name="args"/> and <paramref name="environment"/> added; standard input is closed.</summary>
    public static Process Start(string program, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        args.ToList().ForEach(start.ArgumentList.Add);
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        Process process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + program);
        process.StandardInput.Close();
        return process;
    }

    /// <summary>Runs <paramref name="program"/> to its end (at most 120 s) and returns what it printed.</summary>
    public static async Task<Output> RunAsync(string program, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        using Process process = Start(program, args, environment);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(Rpc.Ct);
        Task<string> stderr = process.StandardError.ReadToEndAsync(Rpc.Ct);
        try
        {
            await process.WaitForExitAsync(Rpc.Ct).WaitAsync(TimeSpan.FromSeconds(120), Rpc.Ct);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not exit within 120 s");
        }
        return new Output(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A new empty directory for one test's files; deleted by <see cref="IDisposable.Dispose"/>.</summary>
    public sealed class Scratch : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("npipes-contract-").FullName;

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
