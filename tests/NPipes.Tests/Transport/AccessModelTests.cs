using System.Globalization;
using System.Runtime.Versioning;
using NPipes.Tests.Hostile;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

/// <summary>
/// docs/access.md without extra accounts: the rule object and its 0.2.0 shorthand, the socket file mode each rule
/// gives (§3), names that do not exist, the peer identity both ends see (§5), and a client that is never retried
/// after a refusal (§4, against 'nobody' where the test runs as root).
/// </summary>
[Collection(HostileCollection.Name)]
public class AccessModelTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void A_rule_is_immutable_and_says_what_it_admits()
    {
        PipeAccess rule = PipeAccess.CurrentUser.AllowUser("alice").AllowGroup("staff").AllowUser("alice");
        Assert.True(PipeAccess.CurrentUser.IsCurrentUserOnly);
        Assert.Empty(PipeAccess.CurrentUser.Users);
        Assert.Equal(["alice"], rule.Users);
        Assert.Equal(["staff"], rule.Groups);
        Assert.False(rule.IsCurrentUserOnly);
        Assert.Equal("current user, users [alice], groups [staff]", rule.ToString());
        Assert.Equal("everyone", rule.AllowEveryone().ToString());
        Assert.Throws<ArgumentException>(() => PipeAccess.CurrentUser.AllowUser(" "));
        Assert.Throws<ArgumentNullException>(() => PipeAccess.CurrentUser.AllowGroup(null!));
    }

    [Fact]
    public void CurrentUserOnly_is_the_shorthand_for_both_rules_and_the_last_setting_wins()
    {
        Assert.True(NPipesOptions.Default.CurrentUserOnly);
        var open = new NPipesOptions { CurrentUserOnly = false };
        Assert.Same(PipeAccess.Everyone, open.Access);
        Assert.Same(PipeAccess.Everyone, open.TrustedServers);
        Assert.False(open.CurrentUserOnly);
        var service = new NPipesOptions { CurrentUserOnly = true, TrustedServers = PipeAccess.CurrentUser.AllowUser(PipeAccess.Root) };
        Assert.False(service.CurrentUserOnly);
        Assert.True(service.Access.IsCurrentUserOnly);
        Assert.Throws<ArgumentNullException>(() => new NPipesOptions { Access = null! });
    }

    [Theory]
    [InlineData("", "", 0b110_000_000)]
    [InlineData("", "0", 0b110_110_000)]
    [InlineData("0", "", 0b110_110_110)]
    [InlineData("", "0,1", 0b110_110_110)]
    [InlineData("everyone", "", 0b110_110_110)]
    [InlineData("S-1-5-18", "S-1-5-32-544", 0b110_000_000)] // Windows entries admit nobody on Unix: still private
    [UnsupportedOSPlatform("windows")]
    public void The_socket_file_mode_follows_the_rule(string users, string groups, int mode)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix socket files only.");
        }
        PipeAccess rule = users == "everyone" ? PipeAccess.Everyone : PipeAccess.CurrentUser;
        foreach (string user in users.Split(',', StringSplitOptions.RemoveEmptyEntries).Where(u => u != "everyone"))
        {
            rule = rule.AllowUser(user);
        }
        foreach (string group in groups.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            rule = rule.AllowGroup(group);
        }
        string name = TestPipes.NewName();
        using PipeListener listener = PipeListener.Create(name, new ListenOptions(rule, PipeAccess.CurrentUser, 65536, -1));
        string path = PipeNames.GetPath(name);
        Assert.Equal((UnixFileMode)mode, File.GetUnixFileMode(path));
        if (groups == "0" && UnixSockets.CurrentUid == 0)
        {
            Assert.Equal("0", Planted.Run("stat", "-c", "%g", path).Trim());
        }
    }

    [Fact]
    public void A_name_that_does_not_exist_fails_before_the_pipe_name_is_touched()
    {
        string name = TestPipes.NewName();
        string missing = "npx" + Guid.NewGuid().ToString("N")[..12];
        var e = Assert.Throws<ArgumentException>(() => PipeServer.Listen(name, new PipeServerOptions { Connection = new NPipesOptions { Access = PipeAccess.CurrentUser.AllowGroup(missing) } }));
        Assert.Contains(missing, e.Message);
        Assert.False(File.Exists(PipeNames.GetPath(name)));
    }

    [Fact]
    public async Task Both_ends_see_the_peer_the_os_reported()
    {
        string name = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(name);
        Task<PipeConnection> accepting = server.AcceptAsync(Ct).AsTask();
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await using PipeConnection served = await accepting.WaitAsync(TestPipes.Patience, Ct);

        foreach (PeerIdentity peer in new[] { client.Peer, served.Peer })
        {
            Assert.Equal(Environment.ProcessId, peer.ProcessId);
            Assert.Equal(Environment.UserName, peer.UserName);
            if (OperatingSystem.IsWindows())
            {
                Assert.StartsWith("S-1-", peer.Sid);
                Assert.Null(peer.UserId);
            }
            else
            {
                Assert.Equal((long)UnixSockets.CurrentUid, peer.UserId);
                Assert.Null(peer.Sid);
                Assert.NotEmpty(peer.GroupIds);
            }
            Assert.Same(peer, peer == client.Peer ? client.Peer : served.Peer); // read once, at connect
        }
        Assert.Same(PeerIdentity.Unknown, new PipeConnection(new MemoryStream(), name, NPipesOptions.Default).Peer);
        Assert.Equal("unknown", PeerIdentity.Unknown.ToString());
    }

    [Fact]
    [UnsupportedOSPlatform("windows")] // SecondUser.Require() skips first
    public async Task A_client_refused_by_its_server_check_is_never_reconnected_automatically()
    {
        (string python, var nobody) = SecondUser.Require();
        string name = TestPipes.NewName();
        PipeServer server = PipeServer.Listen(name);
        Task serving = server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload), Ct);
        await using var client = new PipeClient(name, new PipeClientOptions { Connection = TestPipes.Options(), InitialReconnectDelay = TimeSpan.FromMilliseconds(5) });
        await client.ConnectAsync(Ct);
        var states = new List<PipeClientState>();
        client.StateChanged += (_, e) => { lock (states) { states.Add(e.Current); } };
        await server.DisposeAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => client.RequestAsync("lost?", Ct).AsTask()); // the loss is seen; reconnection starts

        // Another account takes the name while the client reconnects.
        const string Squatter = """
            import os, socket, sys
            srv = socket.socket(socket.AF_UNIX)
            srv.bind(sys.argv[1])
            os.chmod(sys.argv[1], 0o777)
            srv.listen(8)
            print('listening', flush=True)
            while True:
                c, _ = srv.accept()
                print('connected', flush=True)
                c.close()
            """;
        using var squatter = PyPeers.Start(python, Squatter, [PipeNames.GetPath(name)], nobody);
        try
        {
            Assert.Equal("listening", await PyPeers.FirstLineAsync(squatter));
            await Until.TrueAsync(() => client.State == PipeClientState.Disconnected && states.Contains(PipeClientState.Connecting), "the refused reconnection to end");
            Assert.Equal("connected", await PyPeers.FirstLineAsync(squatter));
            var e = await Assert.ThrowsAsync<ConnectionClosedException>(() => client.RequestAsync("secret", Ct).AsTask());
            Assert.Equal(PipeClientState.Disconnected, client.State);
            lock (states)
            {
                Assert.Equal(1, states.Count(s => s == PipeClientState.Connecting)); // one attempt, refused, not retried
            }
            var refused = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => client.ConnectAsync(Ct)); // explicit: refused again, with the reason
            Assert.Contains("uid " + nobody.Uid.ToString(CultureInfo.InvariantCulture), refused.Message);
            Assert.Contains("TrustedServers", refused.Message);
        }
        finally
        {
            PyPeers.KillHard(squatter);
            File.Delete(PipeNames.GetPath(name));
        }
    }
}
