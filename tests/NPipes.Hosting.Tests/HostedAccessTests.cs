using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace NPipes.Hosting.Tests;

/// <summary>
/// docs/access.md §6 in a host: NPipes:Servers:&lt;name&gt; binds AllowUsers/AllowGroups/AllowEveryone and the server
/// applies them; NPipes:Clients:&lt;name&gt; binds ServerUsers; a request handler learns who called through
/// <see cref="PipeCaller"/>.
/// </summary>
public sealed class HostedAccessTests
{
    /// <summary>Sends one frame "who", prints the reply's text (or "closed").</summary>
    private const string Client = """
        import socket, struct, sys
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(sys.argv[1])
        def exact(n):
            b = b''
            while len(b) < n:
                c = s.recv(n - len(b))
                if not c: return None
                b += c
            return b
        try:
            s.sendall(struct.pack('>II', 11, 3) + b'who' + b'\0\0\0\0')
            h = exact(8)
        except (ConnectionResetError, BrokenPipeError):
            h = None
        print('closed' if h is None else exact(struct.unpack('>I', h[4:])[0]).decode(), flush=True)
        """;

    private sealed class WhoHandler(PipeCaller caller) : IPipeRequestHandler
    {
        public ValueTask<string> HandleAsync(string request, CancellationToken cancellationToken) =>
            ValueTask.FromResult($"{request}:{caller.Peer.UserId}:{caller.Peer.UserName}");
    }

    private static IHost Build(string name, Dictionary<string, string?> settings)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddNPipesServer<WhoHandler>(name);
        builder.Services.AddNPipesClient(name);
        return builder.Build();
    }

    [Fact]
    public async Task A_request_handler_gets_the_caller_and_configured_server_users_and_groups_are_bound()
    {
        string name = Bounded.NewName();
        using IHost host = Build(name, new() { [$"NPipes:Clients:{name}:ServerUsers:0"] = "0", [$"NPipes:Clients:{name}:ServerGroups:0"] = "0", [$"NPipes:Servers:{name}:AllowGroups:0"] = "0" });
        await host.StartAsync(Bounded.Ct);
        PipeAccess trusted = host.Services.GetRequiredService<IOptionsMonitor<NPipesClientOptions>>().Get(name).ToTrustedServers();
        Assert.Equal(["0"], trusted.Users);
        Assert.Equal(["0"], trusted.Groups);

        await using (PipeConnection client = await PipeConnection.ConnectAsync(name, new NPipesOptions { Timeout = Bounded.Patience }, Bounded.Ct))
        {
            string reply = await client.RequestAsync("who", Bounded.Ct);
            Assert.Equal(OperatingSystem.IsWindows() ? "who::" + client.Peer.UserName : $"who:{client.Peer.UserId}:{client.Peer.UserName}", reply);
            Assert.Equal(Environment.ProcessId, client.Peer.ProcessId); // the server is this process
        }
        if (!OperatingSystem.IsWindows())
        {
            // One group configured: the socket file is 0660 and that group's.
            Assert.Equal((UnixFileMode)0b110_110_000, File.GetUnixFileMode(Path.GetTempPath() + "CoreFxPipe_" + name));
        }
        await host.StopAsync(Bounded.Ct);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // skips first on Windows
    public async Task A_hosted_server_admits_a_configured_user_and_refuses_without_the_rule()
    {
        if (OperatingSystem.IsWindows() || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/bin/python3"))
        {
            Assert.Skip("Needs Unix, root, setpriv and python3 to run a client as 'nobody'.");
        }
        string[]? nobody = File.ReadLines("/etc/passwd").Select(l => l.Split(':')).FirstOrDefault(f => f.Length > 3 && f[0] == "nobody");
        if (nobody is null)
        {
            Assert.Skip("Needs the user 'nobody'.");
        }
        string admitted = Bounded.NewName(), refused = Bounded.NewName();
        using IHost host = Build(admitted, new() { [$"NPipes:Servers:{admitted}:AllowUsers:0"] = "nobody" });
        await host.StartAsync(Bounded.Ct);
        Assert.Equal($"who:{nobody[2]}:nobody", await RunAsNobodyAsync(nobody, admitted));
        await host.StopAsync(Bounded.Ct);

        using IHost strict = Build(refused, []);
        await strict.StartAsync(Bounded.Ct);
        File.SetUnixFileMode(Path.GetTempPath() + "CoreFxPipe_" + refused, (UnixFileMode)0b110_110_110); // only the kernel check stands in the way
        Assert.Equal("closed", await RunAsNobodyAsync(nobody, refused));
        await strict.StopAsync(Bounded.Ct);
    }

    private static async Task<string> RunAsNobodyAsync(string[] nobody, string name)
    {
        var start = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (string arg in new[] { $"--reuid={nobody[2]}", $"--regid={nobody[3]}", "--clear-groups", "/usr/bin/python3", "-c", Client, Path.GetTempPath() + "CoreFxPipe_" + name })
        {
            start.ArgumentList.Add(arg);
        }
        using Process client = Process.Start(start)!;
        string output = await client.StandardOutput.ReadToEndAsync(Bounded.Ct).WaitAsync(Bounded.Patience, Bounded.Ct);
        await client.WaitForExitAsync(Bounded.Ct).WaitAsync(Bounded.Patience, Bounded.Ct);
        return output.Trim() is { Length: > 0 } line ? line : "error: " + await client.StandardError.ReadToEndAsync(Bounded.Ct);
    }
}
