using System.Diagnostics;

namespace NPipes.Tests.Transport;

/// <summary>Makes the socket file a server leaves behind when it is killed: bound, nobody listening.</summary>
internal static class StaleSocket
{
    public static void Make(string path)
    {
        // .NET unlinks the file when a bound socket is disposed, so a killed process is simulated with one that
        // binds and exits without cleaning up (Python leaves the file, as a SIGKILLed server does).
        var psi = new ProcessStartInfo("python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path]);
        using Process p = Process.Start(psi)!;
        Assert.True(p.WaitForExit(TestPipes.Patience), "python3 did not exit");
        Assert.Equal(0, p.ExitCode);
        Assert.True(File.Exists(path));
    }
}

/// <summary>Test access to the transport's liveness check.</summary>
internal static class UnixSocketsProbe
{
    public static bool IsListening(string path) => !OperatingSystem.IsWindows() && NPipes.Transport.UnixSockets.Probe(path) == NPipes.Transport.ProbeResult.Live;
}
