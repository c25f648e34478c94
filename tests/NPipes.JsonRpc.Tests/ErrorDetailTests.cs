using System.Diagnostics;
using System.Text.Json.Nodes;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace NPipes.RpcTests;

/// <summary>
/// Error replies carry the server's stack traces only when opted in (<see cref="NPipesJsonRpcOptions.IncludeStackTraces"/>),
/// and then only to a peer of the server's own OS user (docs/rpc.md section 5).
/// </summary>
public class ErrorDetailTests
{
    [Fact]
    public async Task By_default_an_error_reply_carries_the_type_and_message_but_no_stack_trace()
    {
        await using RunningServer server = Rpc.Serve<TestTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        var crashed = await Assert.ThrowsAsync<RemoteInvocationException>(() => client.InvokeWithCancellationAsync("crash", ["it broke"], Rpc.Ct).Bounded());
        var data = Assert.IsType<CommonErrorData>(crashed.DeserializedErrorData);
        Assert.Equal(typeof(InvalidOperationException).FullName, data.TypeName);
        Assert.Equal("it broke", data.Message);
        Assert.Null(data.StackTrace);
    }

    [Fact]
    public async Task Opted_in_a_client_of_the_same_user_gets_the_stack_trace()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "the peer's user is known on Unix sockets only (until peer identity lands on Windows)");
        await using RunningServer server = Serve(currentUserOnly: true);
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        var crashed = await Assert.ThrowsAsync<RemoteInvocationException>(() => client.InvokeWithCancellationAsync("crash", ["it broke"], Rpc.Ct).Bounded());
        string? stack = Assert.IsType<CommonErrorData>(crashed.DeserializedErrorData).StackTrace;
        Assert.Contains(nameof(TestTarget.Crash), stack, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Opted_in_a_client_of_another_user_gets_no_stack_trace()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix only");
        Assert.SkipUnless(Environment.UserName == "root", "needs root to run a client as another user");
        Assert.SkipUnless(File.Exists("/usr/bin/setpriv") && File.Exists("/usr/bin/python3"), "needs setpriv and python3");
        await using RunningServer server = Serve(currentUserOnly: false);
        // A raw python3 client (no package: the checkout may not be readable by that user) as uid/gid 65534.
        var psi = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (string a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", CallCrash, PipeNames.GetPath(server.Name) })
        {
            psi.ArgumentList.Add(a);
        }
        using Process python = Process.Start(psi)!;
        string output = await python.StandardOutput.ReadToEndAsync(Rpc.Ct).WaitAsync(Rpc.Patience, Rpc.Ct);
        await python.WaitForExitAsync(Rpc.Ct).WaitAsync(Rpc.Patience, Rpc.Ct);
        Assert.True(python.ExitCode == 0, "python: " + await python.StandardError.ReadToEndAsync(Rpc.Ct));
        JsonObject error = JsonNode.Parse(output)!["error"]!.AsObject();
        Assert.Equal(-32000, (int)error["code"]!);
        JsonObject data = error["data"]!.AsObject();
        Assert.Equal("it broke", (string?)data["message"]);
        Assert.False(data.ContainsKey("stack") && data["stack"] is not null, "the other user got the stack trace: " + output);
    }

    private static RunningServer Serve(bool currentUserOnly)
    {
        string name = Rpc.NewName();
        var options = new PipeServerOptions { Connection = Rpc.Options() with { CurrentUserOnly = currentUserOnly }, DrainTimeout = TimeSpan.FromSeconds(2) };
        PipeServer server = PipeServer.Listen(name, options);
        var errors = new List<Exception>();
        Task serving = server.ServeJsonRpcAsync((rpc, _) => rpc.AddLocalRpcTarget(new TestTarget()), new NPipesJsonRpcOptions { IncludeStackTraces = true }, CancellationToken.None);
        return new RunningServer(name, server, serving, errors);
    }

    /// <summary>Sends one "crash" request (big endian, CRC on, as <see cref="Rpc.Options"/>) and prints the reply's JSON.</summary>
    private const string CallCrash = """
        import socket, struct, sys, zlib
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        body = b'{"jsonrpc":"2.0","id":1,"method":"crash","params":["it broke"]}'
        s.sendall(struct.pack('>II', len(body) + 8, len(body)) + body + struct.pack('>I', zlib.crc32(body)))
        def read(n):
            b = b''
            while len(b) < n:
                c = s.recv(n - len(b))
                if not c: raise SystemExit('closed')
                b += c
            return b
        _, n = struct.unpack('>II', read(8))
        print(read(n).decode())
        """;
}
