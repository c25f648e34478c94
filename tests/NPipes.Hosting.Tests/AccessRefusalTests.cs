using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace NPipes.Hosting.Tests;

/// <summary>
/// A client of another OS user that gets through to the listener (here: the test loosens the mode of the socket file
/// its own server created) is refused, logged with its uid and pid, and counted with reason "access". Needs root (to
/// run the client as 'nobody' through setpriv) and python3; skipped otherwise.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // the Windows check skips first
public sealed class AccessRefusalTests
{
    private const string Client = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(sys.argv[1])
        try:
            closed = s.recv(1) == b''
        except ConnectionResetError:
            closed = True
        print('closed' if closed else 'data', flush=True)
        """;

    [Fact]
    public async Task Another_users_client_is_refused_logged_and_counted()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix only: on Windows the pipe's ACL refuses other users in the OS, unseen by the server.");
        }
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/bin/python3"))
        {
            Assert.Skip("Needs root, setpriv and python3 to run a client as another user.");
        }
        string[]? nobody = File.ReadLines("/etc/passwd").Select(l => l.Split(':')).FirstOrDefault(f => f.Length > 3 && f[0] == "nobody");
        if (nobody is null)
        {
            Assert.Skip("Needs the user 'nobody'.");
        }

        using ServiceProvider metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory meters = metrics.GetRequiredService<IMeterFactory>();
        using var measured = new MeasurementLog(meters);
        var logs = new CapturingLoggerProvider();
        using ILoggerFactory loggers = logs.Factory();
        string name = Bounded.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { LoggerFactory = loggers, MeterFactory = meters });
        Task serving = server.RunAsync((connection, stopping) => connection.ReceiveAsync(stopping).AsTask(), Bounded.Ct);
        string path = Path.GetTempPath() + "CoreFxPipe_" + name;
        File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110); // the file our server made: let the other user reach the listener

        var start = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (string arg in new[] { $"--reuid={nobody[2]}", $"--regid={nobody[3]}", "--clear-groups", "/usr/bin/python3", "-c", Client, path })
        {
            start.ArgumentList.Add(arg);
        }
        using Process client = Process.Start(start)!;
        string output = await client.StandardOutput.ReadToEndAsync(Bounded.Ct).WaitAsync(Bounded.Patience, Bounded.Ct);
        Assert.True(output.Trim() == "closed", $"client: '{output}' {await client.StandardError.ReadToEndAsync(Bounded.Ct)}");

        LogEntry refused = await logs.WaitForAsync(4);
        Assert.Equal("access", refused["RefusalReason"]);
        Assert.Equal(long.Parse(nobody[2], System.Globalization.CultureInfo.InvariantCulture), refused["PeerUid"]);
        Assert.Equal(client.Id, refused["PeerPid"]);
        MeasurementLog.Measured counted = Assert.Single(measured.Of("npipes.connections.refused", name));
        Assert.Equal("access", counted.Tags["npipes.refusal.reason"]);
        Assert.Empty(logs.WithId(3)); // never accepted
    }
}
