using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>A running peer: its output collected, its end awaited with the check's token, and ended when disposed.</summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _err = new();
    private readonly TaskCompletionSource<bool> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<bool> _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _what;
    private int _disposed;

    /// <summary>Every peer started, so that those of a hung check are ended too before the app exits.</summary>
    private static readonly ConcurrentQueue<PeerProcess> s_started = new();

    private PeerProcess(Command command)
    {
        _what = command.ToString();
        var start = new ProcessStartInfo(command.Program, string.Join(" ", command.Arguments.Select(Quote)))
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var variable in command.Environment)
        {
            start.EnvironmentVariables[variable.Key] = variable.Value;
        }
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Append(_out, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_err, e.Data);
        _process.Exited += (_, _) => _exited.TrySetResult(true);
    }

    /// <summary>Standard output so far.</summary>
    public string Output
    {
        get { lock (_out) { return _out.ToString(); } }
    }

    /// <summary>Standard error so far.</summary>
    public string Errors
    {
        get { lock (_err) { return _err.ToString(); } }
    }

    public static PeerProcess Start(Command command)
    {
        var peer = new PeerProcess(command);
        peer._process.Start();
        s_started.Enqueue(peer);
        peer._process.StandardInput.Close(); // `-` is never used: a peer that reads stdin sees its end at once
        peer._process.BeginOutputReadLine();
        peer._process.BeginErrorReadLine();
        if (peer._process.HasExited)
        {
            peer._exited.TrySetResult(true);
        }
        return peer;
    }

    /// <summary>Waits for the peer to end; its exit code. Its output is complete when this returns.</summary>
    public async Task<int> ExitAsync(CancellationToken cancellationToken)
    {
        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
        {
            if (await Task.WhenAny(_exited.Task, cancelled.Task).ConfigureAwait(false) != _exited.Task)
            {
                throw new OperationCanceledException($"{_what} did not end: {Describe()}", cancellationToken);
            }
        }
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>Waits for the peer to end and expects exit code 0; its standard output.</summary>
    public async Task<string> SucceedAsync(CancellationToken cancellationToken)
    {
        int code = await ExitAsync(cancellationToken).ConfigureAwait(false);
        Expect.That(code == 0, $"{_what} exited {code}: {Describe()}");
        return Output;
    }

    /// <summary>Waits until the peer has printed <paramref name="text"/> (on stdout or stderr).</summary>
    public async Task WaitForAsync(string text, CancellationToken cancellationToken)
    {
        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
        {
            while (true)
            {
                Task appended = Volatile.Read(ref _appended).Task; // before looking: a line added after the look wakes us
                if (Output.Contains(text) || Errors.Contains(text))
                {
                    return;
                }
                if (_exited.Task.IsCompleted)
                {
                    _process.WaitForExit(); // the last lines
                    Expect.That(Output.Contains(text) || Errors.Contains(text), $"{_what} ended without printing '{text}': {Describe()}");
                    return;
                }
                if (await Task.WhenAny(appended, _exited.Task, cancelled.Task).ConfigureAwait(false) == cancelled.Task)
                {
                    throw new OperationCanceledException($"{_what} did not print '{text}': {Describe()}", cancellationToken);
                }
            }
        }
    }

    /// <summary>SIGTERM (the way a service is stopped), then the exit code.</summary>
    public async Task<int> TerminateAsync(CancellationToken cancellationToken)
    {
        if (!_process.HasExited)
        {
            using Process kill = Process.Start(new ProcessStartInfo("kill", "-TERM " + _process.Id) { UseShellExecute = false })!;
            kill.WaitForExit();
        }
        return await ExitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What it printed, for a failure message.</summary>
    public string Describe() => $"stdout '{Output.Trim()}', stderr '{Errors.Trim()}'";

    /// <summary>Ends every peer still running (a hung check's): none outlives the app.</summary>
    public static void EndAll()
    {
        while (s_started.TryDequeue(out PeerProcess? peer))
        {
            peer.Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // ended in between
        }
        _process.Dispose();
    }

    private void Append(StringBuilder text, string? line)
    {
        if (line is not null)
        {
            lock (text)
            {
                text.Append(line).Append('\n');
            }
            Interlocked.Exchange(ref _appended, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(true);
        }
    }

    // ProcessStartInfo.ArgumentList is .NET Core 2.1+: one string, each argument double-quoted (Mono splits it as a shell
    // would, without expansions; \" and \\ are the only escapes needed inside the quotes).
    private static string Quote(string arg) => "\"" + arg.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
