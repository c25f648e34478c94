#if NET
using System.Runtime.InteropServices;
#endif
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// A listener left open when its process ends normally releases its socket file (doc §9): ProcessExit (end of Main,
/// Environment.Exit) disposes it; SIGTERM, which .NET's default handling turns into an exit without ProcessExit,
/// releases the path only (the socket stays open: a process that cancels SIGTERM to stop gracefully disposes the
/// server itself, which then finds nothing left to unlink). The hooks hold the listener weakly: they keep no
/// forgotten listener alive.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class ExitRelease : IDisposable
{
    private readonly EventHandler _onProcessExit;
#if NET
    private readonly PosixSignalRegistration? _onTerminate;
#endif

    public ExitRelease(UnixPipeListener listener)
    {
        var weak = new WeakReference<UnixPipeListener>(listener);
        _onProcessExit = (_, _) =>
        {
            if (weak.TryGetTarget(out UnixPipeListener? target))
            {
                target.Dispose();
            }
        };
        AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
#if NET
        try
        {
            _onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ =>
            {
                if (weak.TryGetTarget(out UnixPipeListener? target))
                {
                    target.ReleasePath();
                }
            });
        }
        catch (PlatformNotSupportedException)
        {
            // No signal handling here: ProcessExit alone.
        }
#endif
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
#if NET
        _onTerminate?.Dispose();
#endif
    }
}
