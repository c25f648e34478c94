using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using NPipes.Tests.Cli;
using NPipes.Tests.Hostile;

namespace NPipes.Tests.Transport;

/// <summary>
/// docs/access.md with real OS accounts and groups, created for each test and deleted after (needs root; skipped with
/// the reason otherwise). The servers here run as root in this process or as the CLI; clients run as the accounts,
/// through the npipes CLI copied where they can read it, or python3 probes that report what they were sent.
/// </summary>
[Collection(HostileCollection.Name)]
[UnsupportedOSPlatform("windows")] // every Unix-only call is behind OsAccounts.Require()'s skip
public class AccessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Inv(long value) => value.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_root_server_admitting_a_group_serves_a_supplementary_member_and_refuses_a_non_member_before_a_byte()
    {
        using OsAccounts accounts = OsAccounts.Require();
        (string group, int gid) = accounts.Group();
        (_, int otherGid) = accounts.Group();
        OsAccounts.Account member = accounts.User(otherGid, group); // G only as a supplementary group
        OsAccounts.Account stranger = accounts.User(otherGid);
        string name = TestPipes.NewName();
        var seen = new List<PeerIdentity>();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = new NPipesOptions { Access = PipeAccess.CurrentUser.AllowGroup(group) } });
        Task serving = server.ServeRequestsAsync((connection, request, _) =>
        {
            lock (seen)
            {
                seen.Add(connection.Peer);
            }
            return ValueTask.FromResult(request.Payload);
        }, Ct);

        // Doc §3: one group, so the file is 0660 and belongs to that group.
        string path = PipeNames.GetPath(name);
        Assert.Equal((UnixFileMode)0b110_110_000, File.GetUnixFileMode(path));
        Assert.Equal(Inv(gid), Planted.Run("stat", "-c", "%g", path).Trim());

        (int code, string output, string error) = await accounts.RunCliAsync(member, "request", name, "hello", "--server-user", "root", "--timeout", "20");
        Assert.True(code == 0, $"member: exit {code}, {error}");
        Assert.Equal("hello", output.Trim());
        PeerIdentity peer = Assert.Single(seen);
        Assert.Equal(member.Uid, peer.UserId);
        Assert.Equal(otherGid, peer.GroupIds[0]);
        Assert.Contains(gid, peer.GroupIds);
        Assert.Equal(member.Name, peer.UserName);

        // The stranger cannot reach the 0660 file (EACCES at connect)...
        (code, output, error) = await accounts.RunCliAsync(stranger, "request", name, "hello", "--server-user", "root", "--timeout", "20");
        Assert.NotEqual(0, code);
        Assert.Equal("", output);
        Assert.Contains("another user", error);
        // ...and where the mode lets them (an admin's chmod), the kernel check closes them before a byte is read or written.
        File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110);
        (string python, _) = SecondUser.Require();
        using (var probe = PyPeers.Start(python, PyPeers.ProbeClient, [path], (stranger.Uid, stranger.Gid)))
        {
            Assert.Equal("closed", await PyPeers.FirstLineAsync(probe));
        }
        Assert.Single(seen);
    }

    [Fact]
    public async Task Allow_user_admits_exactly_that_user()
    {
        using OsAccounts accounts = OsAccounts.Require();
        (_, int gid) = accounts.Group();
        OsAccounts.Account alice = accounts.User(gid);
        OsAccounts.Account bob = accounts.User(gid); // same primary group: only the user entry tells them apart
        string name = TestPipes.NewName();
        using CliProcess echo = CliProcess.Start("echo", name, "--allow-user", alice.Name);
        await echo.PipeExistsAsync(name);
        Assert.Equal((UnixFileMode)0b110_110_110, File.GetUnixFileMode(PipeNames.GetPath(name))); // a user entry: the kernel check decides

        (int code, string output, string error) = await accounts.RunCliAsync(alice, "request", name, "for alice", "--server-user", "root", "--timeout", "20");
        Assert.True(code == 0, $"alice: exit {code}, {error}");
        Assert.Equal("for alice", output.Trim());

        (code, output, _) = await accounts.RunCliAsync(bob, "request", name, "for bob", "--server-user", "root", "--timeout", "20");
        Assert.NotEqual(0, code);
        Assert.Equal("", output);
    }

    [Fact]
    public async Task A_client_trusting_root_talks_to_a_root_server_and_refuses_a_server_of_a_third_account()
    {
        using OsAccounts accounts = OsAccounts.Require();
        (_, int gid) = accounts.Group();
        OsAccounts.Account client = accounts.User(gid);
        OsAccounts.Account third = accounts.User(gid);
        string rootPipe = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(rootPipe, new PipeServerOptions { Connection = new NPipesOptions { Access = PipeAccess.CurrentUser.AllowUser(client.Name) } });
        Task serving = server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload), Ct);

        (int code, string output, string error) = await accounts.RunCliAsync(client, "request", rootPipe, "ping", "--server-user", "root", "--timeout", "20");
        Assert.True(code == 0, $"exit {code}, {error}");
        Assert.Equal("ping", output.Trim());

        // Without --server-user the same root server is refused: a client trusts its own user alone by default.
        (code, output, error) = await accounts.RunCliAsync(client, "request", rootPipe, "ping", "--timeout", "20");
        Assert.NotEqual(0, code);
        Assert.Contains("uid 0 (root)", error);
        Assert.Contains("--server-user root", error);

        string squatted = TestPipes.NewName();
        using var squatter = accounts.StartCli(third, "echo", squatted, "--allow-everyone");
        try
        {
            await ServingAsync(squatter, squatted);
            (code, output, error) = await accounts.RunCliAsync(client, "request", squatted, "secret", "--server-user", "root", "--timeout", "20");
            Assert.NotEqual(0, code);
            Assert.Equal("", output);
            Assert.Contains($"uid {third.Uid} ({third.Name})", error);
            Assert.Contains($"--server-user {third.Name}", error);
        }
        finally
        {
            squatter.Kill(entireProcessTree: true);
            await squatter.WaitForExitAsync(Ct);
        }
    }

    [Fact]
    public async Task A_client_trusting_a_group_talks_to_a_server_holding_it_as_a_supplementary_group_and_refuses_one_without_it_before_a_byte()
    {
        using OsAccounts accounts = OsAccounts.Require();
        (string trusted, _) = accounts.Group();
        (string other, _) = accounts.Group();
        (_, int primary) = accounts.Group();
        OsAccounts.Account owner = accounts.User(primary, trusted); // the trusted group is a supplementary one only
        string name = TestPipes.NewName();
        using (var echo = accounts.StartCli(owner, "echo", name, "--allow-everyone"))
        {
            try
            {
                await ServingAsync(echo, name);
                (int code, string output, string error) = await CliProcess.RunAsync("request", name, "hi", "--server-group", trusted, "--timeout", "20");
                Assert.True(code == 0, $"trusting {trusted}: exit {code}, {error}");
                Assert.Equal("hi", output.Trim());

                (code, output, error) = await CliProcess.RunAsync("request", name, "hi", "--server-group", other, "--timeout", "20");
                Assert.Equal(1, code);
                Assert.Equal("", output);
                Assert.Contains($"runs as uid {owner.Uid} ({owner.Name}), which this client does not trust (trusted: current user, groups [{other}])", error);
                Assert.Contains("or one of its groups (.AllowGroup(\"NAME\"); CLI --server-group NAME)", error);
            }
            finally
            {
                echo.Kill(entireProcessTree: true);
                await echo.WaitForExitAsync(Ct);
                File.Delete(PipeNames.GetPath(name));
            }
        }

        // Refused before a byte moves: a server of the same account (same groups) counts what each client sent it.
        (string python, _) = SecondUser.Require();
        string counted = TestPipes.NewName();
        using Process squatter = OsAccounts.StartPython(owner, python, SecondUserTests.Squatter, PipeNames.GetPath(counted), "");
        try
        {
            Assert.Equal("listening", await PyPeers.FirstLineAsync(squatter));
            (int code, _, string error) = await CliProcess.RunAsync("request", counted, "secret", "--server-group", other, "--timeout", "20");
            Assert.Equal(1, code);
            Assert.Contains($"uid {owner.Uid} ({owner.Name})", error);
            Assert.Equal("received 0", await PyPeers.FirstLineAsync(squatter));
        }
        finally
        {
            PyPeers.KillHard(squatter);
            File.Delete(PipeNames.GetPath(counted));
        }
    }

    [Fact]
    public async Task Whoami_on_the_rpc_demo_target_returns_the_callers_pid_uid_and_user()
    {
        using OsAccounts accounts = OsAccounts.Require();
        (_, int gid) = accounts.Group();
        OsAccounts.Account caller = accounts.User(gid);
        string name = TestPipes.NewName();
        using CliProcess serve = CliProcess.Start("rpc", "serve", name, "--allow-user", caller.Name);
        await serve.PipeExistsAsync(name);

        using var call = accounts.StartCli(caller, "rpc", "call", name, "whoami", "--server-user", "root", "--timeout", "20");
        string output = await call.StandardOutput.ReadToEndAsync(Ct);
        await call.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.True(call.ExitCode == 0, $"exit {call.ExitCode}: {await call.StandardError.ReadToEndAsync(Ct)}");
        using var result = JsonDocument.Parse(output);
        Assert.Equal(call.Id, result.RootElement.GetProperty("pid").GetInt32());
        Assert.Equal(caller.Uid, result.RootElement.GetProperty("uid").GetInt64());
        Assert.Equal(caller.Name, result.RootElement.GetProperty("user").GetString());
        Assert.Equal(JsonValueKind.Null, result.RootElement.GetProperty("sid").ValueKind);
    }

    /// <summary>Until <paramref name="server"/>, a CLI started as another account, has made pipe <paramref name="name"/>
    /// (bounded by the CLI's own start patience); fails if it exits first.</summary>
    private static async Task ServingAsync(Process server, string name)
    {
        using var starting = new CancellationTokenSource(CliProcess.StartPatience);
        while (!File.Exists(PipeNames.GetPath(name)))
        {
            if (server.HasExited)
            {
                Assert.Fail("the other account's server exited: " + await server.StandardError.ReadToEndAsync(Ct));
            }
            await Task.Delay(20, starting.Token);
        }
    }
}
