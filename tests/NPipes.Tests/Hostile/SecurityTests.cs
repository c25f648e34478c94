using NPipes.Tests.Messaging;
using System.Runtime.Versioning;
using NPipes.Transport;

namespace NPipes.Tests.Hostile;

/// <summary>
/// Current-user-only, proven with a second OS user: when the tests run as root, clients (and a server) run as 'nobody'
/// (or an unused uid where there is no 'nobody') through setpriv; otherwise these tests are skipped with the reason.
/// Also: a held name is never stolen, and names that would escape the pipe namespace are refused.
/// </summary>
[Collection(HostileCollection.Name)]
[UnsupportedOSPlatform("windows")] // every Unix-only call is behind OtherUser()'s skip or an IsWindows check
public class SecurityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A second OS user to act as: 'nobody', or an unused uid (see <see cref="FindOtherUser"/>).</summary>
    private static (string Python, (int Uid, int Gid) User) OtherUser()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix only: the Windows pipe ACL is covered by the Windows lane.");
        }
        if (UnixSockets.CurrentUid != 0)
        {
            Assert.Skip($"Proving current-user-only needs a second OS user, which needs root to switch to; running as uid {UnixSockets.CurrentUid}.");
        }
        string? python = Hostiles.Python3();
        if (python is null || !File.Exists("/usr/bin/setpriv"))
        {
            Assert.Skip("Needs python3 and setpriv (util-linux) to run a client as another user.");
        }
        return (python, FindOtherUser());
    }

    /// <summary>
    /// 'nobody' if the system has it; otherwise a uid and gid no account or group uses. The kernel's checks (file mode,
    /// SO_PEERCRED) compare numbers only, so an unnamed id is another user to them; nothing is created on the system, so
    /// nothing is left behind and parallel runs cannot collide on /etc/passwd.
    /// </summary>
    private static (int Uid, int Gid) FindOtherUser()
    {
        if (Lookup("nobody") is { } nobody)
        {
            return nobody;
        }
        var usedUids = IdsIn("/etc/passwd");
        var usedGids = IdsIn("/etc/group");
        for (int id = 65534; id > 1000; id--)
        {
            if (!usedUids.Contains(id) && !usedGids.Contains(id))
            {
                return (id, id);
            }
        }
        throw new InvalidOperationException("No free uid/gid between 1001 and 65534 to run a client as another user.");
    }

    private static HashSet<int> IdsIn(string file) =>
        [.. File.ReadLines(file).Select(line => line.Split(':')).Where(f => f.Length > 2 && int.TryParse(f[2], out _)).Select(f => int.Parse(f[2]))];

    private static (int, int)? Lookup(string user)
    {
        foreach (string line in File.ReadLines("/etc/passwd"))
        {
            string[] f = line.Split(':');
            if (f.Length > 3 && f[0] == user)
            {
                return (int.Parse(f[2]), int.Parse(f[3]));
            }
        }
        return null;
    }

    private static async Task<string> ProbeAsAsync(string python, (int, int) user, string name)
    {
        using var probe = PyPeers.Start(python, PyPeers.ProbeClient, [PipeNames.GetPath(name)], user);
        string line = await PyPeers.FirstLineAsync(probe);
        await probe.WaitForExitAsync(Ct).WaitAsync(TestPipes.Patience, Ct);
        return line;
    }

    /// <summary>The echo reply the probe expects: the 5-byte frame it sent, byte for byte.</summary>
    private static string EchoOfProbe => "reply:" + Convert.ToHexStringLower(Hostiles.Frame("hello"u8, FrameOptions.Default));

    [Fact]
    public async Task By_default_another_user_cannot_open_the_socket_file()
    {
        (string python, var user) = OtherUser();
        string name = TestPipes.NewName();
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PipeNames.GetPath(name)));

        Assert.Equal("denied", await ProbeAsAsync(python, user, name)); // EACCES from connect(): the mode is 0600

        await using PipeConnection owner = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Assert.Equal("mine", await owner.RequestAsync("mine", Ct).AsTask().Within());
        Assert.Empty(server.Errors);
    }

    [Fact]
    public async Task The_explicit_opt_out_lets_another_user_in()
    {
        (string python, var user) = OtherUser();
        string name = TestPipes.NewName();
        NPipesOptions open = TestPipes.Options() with { CurrentUserOnly = false };
        await using var server = new RecordingServer(name, new PipeServerOptions { Connection = open });
        UnixFileMode all = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        Assert.Equal(all, File.GetUnixFileMode(PipeNames.GetPath(name)));

        Assert.Equal(EchoOfProbe, await ProbeAsAsync(python, user, name));
        Assert.Empty(server.Errors);
    }

    [Fact]
    public async Task The_peer_credential_check_drops_another_user_even_if_the_file_mode_lets_them_connect()
    {
        (string python, var user) = OtherUser();
        string name = TestPipes.NewName();
        int handled = 0;
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task running = server.ServeRequestsAsync((PipeMessage request, CancellationToken _) =>
        {
            Interlocked.Increment(ref handled);
            return ValueTask.FromResult(request.Payload);
        }, Ct);
        // Simulate the window a permissive umask could open (or an admin's chmod): anyone may connect() now.
        File.SetUnixFileMode(PipeNames.GetPath(name), (UnixFileMode)0b110_110_110);

        Assert.Equal("closed", await ProbeAsAsync(python, user, name)); // accepted by the kernel, dropped by SO_PEERCRED
        Assert.Equal(0, Volatile.Read(ref handled)); // its frame never reached a handler
        Assert.Equal(0, server.ActiveConnections);

        await using PipeConnection owner = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        Assert.Equal("mine", await owner.RequestAsync("mine", Ct).AsTask().Within());
        Assert.Equal(1, Volatile.Read(ref handled));
        await server.StopAsync(TimeSpan.Zero, Ct).Within();
        await running.Within();
    }

    [Fact]
    public async Task A_client_refuses_a_server_run_by_another_user_unless_opted_out()
    {
        (string python, var user) = OtherUser();
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        using var foreign = PyPeers.Start(python, PyPeers.EchoServer, [path, "666"], user);
        try
        {
            Assert.Equal("listening", await PyPeers.FirstLineAsync(foreign));
            await Assert.ThrowsAsync<UnauthorizedAccessException>(() => PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct).Within());

            await using PipeConnection optedOut = await PipeConnection.ConnectAsync(name, TestPipes.Options() with { CurrentUserOnly = false }, Ct);
            Assert.Equal("hi", await optedOut.RequestAsync("hi", Ct).AsTask().Within());
        }
        finally
        {
            PyPeers.KillHard(foreign);
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_second_server_on_a_held_name_fails_clearly_and_the_first_keeps_serving()
    {
        string name = TestPipes.NewName();
        await using var first = new RecordingServer(name, new PipeServerOptions { Connection = Servers.Crc() });
        var e = Assert.Throws<PipeNameInUseException>(() => PipeServer.Listen(name, new PipeServerOptions { Connection = Servers.Crc() }));
        Assert.Equal(name, e.PipeName);
        Assert.Contains(name, e.Message);
        var opened = Assert.Throws<PipeNameInUseException>(() => PipeServer.Listen(name, new PipeServerOptions { Connection = Servers.Crc() with { CurrentUserOnly = false } }));
        Assert.Equal(name, opened.PipeName);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PipeNames.GetPath(name))); // not loosened by the loser
        }
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, Servers.Crc(), Ct);
        Assert.Equal("still mine", await client.RequestAsync("still mine", Ct).AsTask().Within());
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("/tmp/evil")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a\0b")]
    [InlineData("\0")]
    [InlineData("..\\x")]
    [InlineData("")]
    public async Task Names_that_would_escape_the_pipe_namespace_are_refused(string name)
    {
        string[] before = Directory.GetFiles(Path.GetTempPath(), "CoreFxPipe_*");
        Assert.Throws<ArgumentException>(() => PipeServer.Listen(name));
        await Assert.ThrowsAsync<ArgumentException>(() => PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct));
        Assert.Throws<ArgumentException>(() => new Ipc(name));
        Assert.Throws<ArgumentException>(() => PipeNames.GetPath(name));
        Assert.False(File.Exists("/tmp/evil"));
        Assert.DoesNotContain(Directory.GetFiles(Path.GetTempPath(), "CoreFxPipe_*").Except(before), f => f.Contains("..") || f.Contains("evil"));
    }
}
