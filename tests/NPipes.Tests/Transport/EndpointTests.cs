using System.Diagnostics;
using System.Net.Sockets;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

/// <summary>
/// docs/unix-endpoint.md §4, §5, §8, §9 with live peers: a live server is never taken over, whatever its name or
/// however its file was published; a stale file of ours is reclaimed; a server releases only the file it bound; the
/// file is private from the moment it appears; a rendezvous server whose file is removed starts over.
/// </summary>
public class EndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ListenOptions Private => new(currentUserOnly: true, 65536, -1);

    [Theory]
    [InlineData("with space ")]
    [InlineData("with\nnewline")]
    [InlineData("tab\tand (parens)")]
    public async Task A_live_server_whose_name_needs_quoting_is_not_taken_over(string suffix)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName() + suffix;
        using PipeListener first = PipeListener.Create(name, Private);
        string before = Inode(PipeNames.GetPath(name));

        Assert.Throws<PipeNameInUseException>(() => PipeListener.Create(name, Private));

        Assert.Equal(before, Inode(PipeNames.GetPath(name)));
        await AssertServesAsync(first, name);
    }

    [Fact]
    public async Task A_live_server_published_by_hard_link_is_not_taken_over()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        // As the Python package publishes: bound and listening under a temporary name, then hard-linked to the path,
        // so the kernel knows the socket by the temporary name only.
        string temp = Path.Combine(Path.GetTempPath(), ".npt-" + Guid.NewGuid().ToString("N")[..8]);
        using var live = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        live.Bind(new UnixDomainSocketEndPoint(temp));
        live.Listen(8);
        Planted.Run("ln", temp, path);
        File.Delete(temp);
        try
        {
            string before = Inode(path);
            Assert.Throws<PipeNameInUseException>(() => PipeListener.Create(name, Private));
            Assert.Equal(before, Inode(path));
            Task<Socket> accepted = live.AcceptAsync(Ct).AsTask();
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
            using Socket server = await accepted.WaitAsync(TestPipes.Patience, Ct);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_live_Python_npipes_server_is_not_taken_over()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        var psi = new ProcessStartInfo("python3", ["-m", "npipes", "echo", name])
        {
            WorkingDirectory = Path.Combine(TestPipes.RepoRoot, "python"),
            RedirectStandardError = true,
        };
        using Process python = Process.Start(psi)!;
        try
        {
            // It appears by link(): listening from its first moment. The bound is the interpreter's start-up, which on
            // a loaded machine can take longer than any pipe operation is allowed to.
            var started = Stopwatch.StartNew();
            while (!File.Exists(path))
            {
                if (python.HasExited)
                {
                    Assert.Fail("python3 -m npipes echo exited: " + await python.StandardError.ReadToEndAsync(Ct));
                }
                Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), "python3 -m npipes echo did not start serving within 60 s");
                await Task.Delay(10, Ct);
            }
            string before = Inode(path);

            Assert.Throws<PipeNameInUseException>(() => PipeServer.Listen(name));

            Assert.Equal(before, Inode(path));
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
            Assert.Equal("still Python's", await client.RequestAsync("still Python's", Ct).AsTask().WaitAsync(TestPipes.Patience, Ct));
        }
        finally
        {
            python.Kill();
            await python.WaitForExitAsync(Ct).WaitAsync(TestPipes.Patience, Ct);
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_stale_socket_of_ours_is_reclaimed_by_a_server_and_by_a_rendezvous()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        StaleSocket.Make(PipeNames.GetPath(name));
        using (PipeListener listener = PipeListener.Create(name, Private))
        {
            await AssertServesAsync(listener, name);
        }

        StaleSocket.Make(PipeNames.GetPath(name));
        Task<string> receiving = new Ipc(name, TestPipes.Options()).ReceiveMessageAsync(cancellationToken: Ct);
        await new Ipc(name, TestPipes.Options()).SendMessageAsync("after the stale one", cancellationToken: Ct);
        Assert.Equal("after the stale one", await receiving.WaitAsync(TestPipes.Patience, Ct));
    }

    [Fact]
    public async Task An_old_server_leaving_does_not_remove_its_successors_file()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        PipeListener old = PipeListener.Create(name, Private);
        File.Delete(path); // someone removed the old server's file; a successor took the name
        using PipeListener successor = PipeListener.Create(name, Private);
        string successors = Inode(path);

        old.Dispose();

        Assert.Equal(successors, Inode(path));
        await AssertServesAsync(successor, name);
    }

    [Fact]
    public async Task A_server_leaving_removes_its_own_file()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        PipeListener.Create(name, Private).Dispose();
        Assert.False(File.Exists(PipeNames.GetPath(name)));

        await using (PipeServer server = PipeServer.Listen(name))
        {
        }
        Assert.False(File.Exists(PipeNames.GetPath(name)));
    }

    [Fact]
    public async Task The_socket_file_is_private_from_the_moment_it_appears()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        // Another thread watches for each file and records its mode at first sight: a server that binds at the path
        // and chmods afterwards shows its umask's mode for a moment; one that publishes by link() never does.
        for (int i = 0; i < 40; i++)
        {
            string path = PipeNames.GetPath(TestPipes.NewName());
            using var seen = new CancellationTokenSource();
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<UnixFileMode> watcher = Task.Factory.StartNew(() =>
            {
                ready.SetResult();
                var info = new FileInfo(path);
                while (true)
                {
                    info.Refresh();
                    if (info.Exists)
                    {
                        return info.UnixFileMode;
                    }
                    seen.Token.ThrowIfCancellationRequested();
                }
            }, Ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await ready.Task;
            using (PipeListener.Create(Path.GetFileName(path)["CoreFxPipe_".Length..], Private))
            {
                seen.CancelAfter(TestPipes.Patience); // the file exists now: the watcher ends at its next look
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, await watcher.WaitAsync(TestPipes.Patience, Ct));
            }
        }
    }

    [Fact]
    public async Task A_rendezvous_server_whose_file_is_removed_starts_over()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        Task<string> receiving = new Ipc(name, TestPipes.Options()).ReceiveMessageAsync(cancellationToken: Ct);
        await Until.PipeExistsAsync(name);
        File.Delete(PipeNames.GetPath(name)); // the receiver's file is gone: no sender can reach it there

        // The sender finds no file and becomes the server; the receiver notices its loss and connects to the sender.
        await new Ipc(name, TestPipes.Options()).SendMessageAsync("found you", cancellationToken: Ct);
        Assert.Equal("found you", await receiving.WaitAsync(TestPipes.Patience, Ct));
    }

    /// <summary>
    /// The listener still serves: a client's message reaches it. Connections that end before any frame are skipped:
    /// a refused second server's liveness probe (doc §5) connects and closes at once, and sits in the accept queue.
    /// </summary>
    internal static async Task AssertServesAsync(PipeListener listener, string name)
    {
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
        await client.SendAsync("served", Ct);
        while (true)
        {
            await using var server = new PipeConnection(await listener.AcceptAsync(Ct).AsTask().WaitAsync(TestPipes.Patience, Ct), name, TestPipes.Options());
            string? text = await server.ReceiveTextAsync(Ct).AsTask().WaitAsync(TestPipes.Patience, Ct);
            if (text is not null)
            {
                Assert.Equal("served", text);
                return;
            }
        }
    }

    /// <summary>Device, inode, type and mode, and owner of the file at <paramref name="path"/>, from coreutils' stat (lstat).</summary>
    internal static string Inode(string path) => Planted.Run("stat", "-c", "%d %i %f %u", path).Trim();
}
