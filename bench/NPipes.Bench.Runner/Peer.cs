using System.Diagnostics;
using System.Reflection;

namespace NPipes.Bench;

/// <summary>A peer process (this program re-launched with <see cref="BenchRunner.PeerArgument"/>): started, waited for, stopped.</summary>
internal sealed class Peer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private Peer(Process process, string[] arguments)
    {
        _process = process;
        Arguments = arguments;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>Starts a peer with the given role arguments and waits for it to print "ready".</summary>
    public static async Task<Peer> StartAsync(BenchOptions options, CancellationToken cancellationToken, params string[] roleArgs)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        List<string> command = [.. options.PeerCommand ?? DefaultCommand(options)];
        start.FileName = command[0];
        foreach (string arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }
        start.ArgumentList.Add(BenchRunner.PeerArgument);
        foreach (string arg in roleArgs)
        {
            start.ArgumentList.Add(arg);
        }
        Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the peer process.");
        var peer = new Peer(process, roleArgs);
        string? line = await process.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        if (line != "ready")
        {
            await peer.DisposeAsync();
            throw new InvalidOperationException($"The peer ({string.Join(' ', roleArgs)}) did not start: '{line}' {await peer._stderr}");
        }
        return peer;
    }

    private static IEnumerable<string> DefaultCommand(BenchOptions options)
    {
        string path = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot tell which program to re-launch; set BenchOptions.PeerCommand.");
        yield return path;
        if (Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            yield return Assembly.GetEntryAssembly()?.Location ?? throw new InvalidOperationException("No entry assembly; set BenchOptions.PeerCommand.");
        }
        foreach (string arg in options.PeerPrefix)
        {
            yield return arg;
        }
    }

    /// <summary>How many methods the peer process has compiled so far (JIT), asked over its stdin.</summary>
    public async Task<long> CompiledMethodsAsync(CancellationToken cancellationToken)
    {
        await _process.StandardInput.WriteLineAsync("jit".AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
        string? line = await _process.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return long.TryParse(line, System.Globalization.CultureInfo.InvariantCulture, out long count)
            ? count
            : throw new InvalidOperationException($"The peer ({string.Join(' ', Arguments)}) answered '{line}' to 'jit'.");
    }

    /// <summary>The role arguments it was started with (role, name, ...).</summary>
    public string[] Arguments { get; }

    /// <summary>The peer process's CPU time so far (user + system; /proc's clock ticks on Linux).</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>Tells the peer to exit (closes its stdin) and waits; kills it if it does not go.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
        string errors = await _stderr;
        if (_process.HasExited && _process.ExitCode != 0)
        {
            Console.Error.WriteLine($"npipes-bench: peer exited with {_process.ExitCode}: {errors.Trim()}");
        }
        _process.Dispose();
    }
}
