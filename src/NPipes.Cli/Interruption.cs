using System.Runtime.InteropServices;

namespace NPipes.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as a stop request: the first one cancels <see cref="Token"/> so the command can end
/// cleanly; <see cref="Stopped"/> completes when the command has had <see cref="Grace"/> to do so, or at a second signal.
/// Replaces System.CommandLine's own handler so the CLI, not the library, decides the exit code.
/// </summary>
internal sealed class Interruption : IDisposable
{
    /// <summary>How long a command may take to end after the first signal.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _requested = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _signals;
    private int _exitCode = ExitCodes.Interrupted;

    public Interruption()
    {
        foreach (PosixSignal signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            try
            {
                _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
            }
            catch (Exception e) when (e is PlatformNotSupportedException or IOException or System.ComponentModel.Win32Exception)
            {
                // A signal this system does not deliver, or a console without signal support (an in-process host):
                // there is nothing to handle; the caller's token still stops the command.
            }
        }
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _requested.Token;

    /// <summary>Whether a signal arrived.</summary>
    public bool Requested => Volatile.Read(ref _signals) > 0;

    /// <summary>128 + the first signal's number: 130 for SIGINT (and for a stop without a signal), 143 for SIGTERM.</summary>
    public int ExitCode => Volatile.Read(ref _exitCode);

    /// <summary>Completes <see cref="Grace"/> after the first signal, or at the second: the command is not waited for any longer.</summary>
    public Task Stopped => _stopped.Task;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // the CLI ends itself, with its own exit code
        if (Interlocked.Increment(ref _signals) == 1)
        {
            Volatile.Write(ref _exitCode, context.Signal == PosixSignal.SIGTERM ? ExitCodes.Terminated : ExitCodes.Interrupted);
            _requested.Cancel();
            _ = Task.Delay(Grace).ContinueWith(_ => _stopped.TrySetResult(), TaskScheduler.Default);
        }
        else
        {
            _stopped.TrySetResult();
        }
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }
        _requested.Dispose();
    }
}
