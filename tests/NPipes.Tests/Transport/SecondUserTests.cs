using System.Diagnostics;
using System.Runtime.Versioning;
using NPipes.Tests.Hostile;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

/// <summary>
/// docs/unix-endpoint.md §5 and §6 against a second OS user (created if needed; the tests run as root to switch to
/// it, and skip with the reason otherwise): their stale file is never removed, their server never gets a byte from us,
/// their client never gets a byte from us or to our handlers.
/// </summary>
[Collection(HostileCollection.Name)]
[UnsupportedOSPlatform("windows")] // every Unix-only call is behind SecondUser.Require()'s skip
public class SecondUserTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NPipesOptions Forever => new() { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>A server run by the other user: world-connectable, it sends <c>argv[2]</c> (hex) on each connection and
    /// prints how many bytes it then received from it.</summary>
    internal const string Squatter = """
        import os, socket, sys
        path = sys.argv[1]
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        os.chmod(path, 0o777)
        srv.listen(8)
        print('listening', flush=True)
        forged = bytes.fromhex(sys.argv[2])
        while True:
            c, _ = srv.accept()
            c.settimeout(10)
            n = 0
            try:
                if forged: c.sendall(forged)
                while True:
                    b = c.recv(65536)
                    if not b: break
                    n += len(b)
            except OSError: pass
            c.close()
            print(f'received {n}', flush=True)
        """;

    [Fact]
    public async Task A_stale_socket_of_another_user_is_never_removed()
    {
        (string python, var user) = SecondUser.Require();
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        using (Process bind = PyPeers.Start(python, "import socket, sys\nsocket.socket(socket.AF_UNIX).bind(sys.argv[1])", [path], user))
        {
            await bind.WaitForExitAsync(Ct).WaitAsync(TestPipes.Patience, Ct);
            Assert.Equal(0, bind.ExitCode);
        }
        try
        {
            string before = EndpointTests.Inode(path);
            Assert.EndsWith(" " + user.Uid, before);

            var e = Assert.Throws<PipeNameInUseException>(() => PipeListener.Create(name, new ListenOptions(true, 65536, -1)));
            Assert.Contains(user.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
            await Assert.ThrowsAsync<PipeNameInUseException>(() => new Ipc(name, Forever).SendMessageAsync("secret", cancellationToken: Ct).WaitAsync(TestPipes.Patience, Ct));
            await Assert.ThrowsAsync<TimeoutException>(() => PipeConnection.ConnectAsync(name, new NPipesOptions { Timeout = TimeSpan.FromMilliseconds(300) }, Ct));

            Assert.Equal(before, EndpointTests.Inode(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_server_of_another_user_gets_not_one_byte_from_a_client_or_a_rendezvous()
    {
        (string python, var user) = SecondUser.Require();
        string name = TestPipes.NewName();
        using Process squatter = PyPeers.Start(python, Squatter, [PipeNames.GetPath(name), ""], user);
        try
        {
            Assert.Equal("listening", await PyPeers.FirstLineAsync(squatter));

            var e = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => PipeConnection.ConnectAsync(name, Forever, Ct).WaitAsync(TestPipes.Patience, Ct));
            Assert.Contains(user.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
            Assert.Equal("received 0", await PyPeers.FirstLineAsync(squatter));

            await Assert.ThrowsAsync<UnauthorizedAccessException>(() => new Ipc(name, Forever).SendMessageAsync("secret", cancellationToken: Ct).WaitAsync(TestPipes.Patience, Ct));
            Assert.Equal("received 0", await PyPeers.FirstLineAsync(squatter));
        }
        finally
        {
            PyPeers.KillHard(squatter);
            File.Delete(PipeNames.GetPath(name));
        }
    }

    [Fact]
    public async Task A_forged_message_from_another_users_server_is_never_read()
    {
        (string python, var user) = SecondUser.Require();
        string name = TestPipes.NewName();
        string forged = Convert.ToHexString(Hostiles.Frame("forged"u8, FrameOptions.Default));
        using Process squatter = PyPeers.Start(python, Squatter, [PipeNames.GetPath(name), forged], user);
        try
        {
            Assert.Equal("listening", await PyPeers.FirstLineAsync(squatter));
            await Assert.ThrowsAsync<UnauthorizedAccessException>(() => new Ipc(name, Forever).ReceiveMessageAsync(cancellationToken: Ct).WaitAsync(TestPipes.Patience, Ct));
            Assert.Equal("received 0", await PyPeers.FirstLineAsync(squatter));
        }
        finally
        {
            PyPeers.KillHard(squatter);
            File.Delete(PipeNames.GetPath(name));
        }
    }

    [Fact]
    public async Task A_client_of_another_user_is_dropped_unread_by_a_listener_which_goes_on_accepting()
    {
        (string python, var user) = SecondUser.Require();
        string name = TestPipes.NewName();
        using var listener = (UnixPipeListener)PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Task<Stream> accepting = listener.AcceptAsync(Ct).AsTask();
        File.SetUnixFileMode(PipeNames.GetPath(name), (UnixFileMode)0b110_110_110); // only the peer check stands in the way

        using (Process intruder = PyPeers.Start(python, PyPeers.ProbeClient, [PipeNames.GetPath(name)], user))
        {
            Assert.Equal("closed", await PyPeers.FirstLineAsync(intruder));
        }
        Assert.Equal(1, listener.RefusedPeers);
        Assert.False(accepting.IsCompleted);

        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await client.SendAsync("mine", Ct);
        await using var server = new PipeConnection(await accepting.WaitAsync(TestPipes.Patience, Ct), name, TestPipes.Options());
        Assert.Equal("mine", await server.ReceiveTextAsync(Ct).AsTask().WaitAsync(TestPipes.Patience, Ct));
    }

    [Fact]
    public async Task A_client_of_another_user_is_dropped_by_a_rendezvous_server_which_goes_on_waiting()
    {
        (string python, var user) = SecondUser.Require();
        string name = TestPipes.NewName();
        Task<string> receiving = new Ipc(name, TestPipes.Options()).ReceiveMessageAsync(cancellationToken: Ct);
        await Until.PipeExistsAsync(name);
        // As if a permissive umask or an admin's chmod let them connect: only the peer check stands in the way.
        File.SetUnixFileMode(PipeNames.GetPath(name), (UnixFileMode)0b110_110_110);

        using (Process intruder = PyPeers.Start(python, PyPeers.ProbeClient, [PipeNames.GetPath(name)], user))
        {
            Assert.Equal("closed", await PyPeers.FirstLineAsync(intruder)); // accepted by the kernel, dropped unread
        }
        Assert.False(receiving.IsCompleted);

        await new Ipc(name, TestPipes.Options()).SendMessageAsync("the real one", cancellationToken: Ct);
        Assert.Equal("the real one", await receiving.WaitAsync(TestPipes.Patience, Ct));
    }
}

/// <summary>A second OS user to act as: 'nobody', or a throwaway system user created for the purpose.</summary>
[UnsupportedOSPlatform("windows")]
internal static class SecondUser
{
    /// <summary>python3 and the other user's uid/gid; skips the test (with the reason) where that cannot be had.</summary>
    public static (string Python, (int Uid, int Gid) User) Require()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix only: the Windows pipe ACL is covered by the Windows lane.");
        }
        if (UnixSockets.CurrentUid != 0)
        {
            Assert.Skip($"A second OS user needs root to switch to; running as uid {UnixSockets.CurrentUid}.");
        }
        string? python = Hostiles.Python3();
        if (python is null || !File.Exists("/usr/bin/setpriv"))
        {
            Assert.Skip("Needs python3 and setpriv (util-linux) to run a peer as another user.");
        }
        return (python, Lookup("nobody") ?? Lookup("npipes-test") ?? Create("npipes-test"));
    }

    private static (int, int) Create(string name)
    {
        using var useradd = Process.Start("useradd", ["-M", "-r", "-s", "/usr/sbin/nologin", name])!;
        useradd.WaitForExit();
        return Lookup(name) ?? throw new InvalidOperationException("Could not create a throwaway user (useradd -M -r).");
    }

    private static (int, int)? Lookup(string user)
    {
        foreach (string line in File.ReadLines("/etc/passwd"))
        {
            string[] f = line.Split(':');
            if (f.Length > 3 && f[0] == user)
            {
                return (int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return null;
    }
}
