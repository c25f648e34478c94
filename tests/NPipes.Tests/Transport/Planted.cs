using System.Diagnostics;
using System.Net.Sockets;

namespace NPipes.Tests.Transport;

/// <summary>
/// Something planted at a pipe's path that is not a pipe's socket, as another program (or an attacker) could leave it,
/// with a snapshot of it taken by coreutils' <c>stat</c> (lstat; not the code under test) to prove it is left exactly as
/// it was: same device and inode, mode, owner, link count, size, times, content or link target.
/// </summary>
internal sealed class Planted : IDisposable
{
    /// <summary>The kinds the tests plant, each with the kind NPipes must report for it.</summary>
    public static readonly TheoryData<string, string> Kinds = new()
    {
        { "regular file", "regular file" },
        { "locked file", "regular file" },
        { "symlink to a socket", "symbolic link" },
        { "dangling symlink", "symbolic link" },
        { "symlink loop", "symbolic link" },
        { "FIFO", "FIFO" },
        { "directory", "directory" },
    };

    private readonly string _what;
    private readonly List<IDisposable> _held = [];
    private readonly List<string> _extra = [];

    private Planted(string path, string what)
    {
        Path = path;
        _what = what;
    }

    /// <summary>The pipe's path, where the thing was planted.</summary>
    public string Path { get; }

    /// <summary>Plants <paramref name="what"/> (one of <see cref="Kinds"/>) at <paramref name="path"/>.</summary>
    public static Planted Make(string what, string path)
    {
        var planted = new Planted(path, what);
        switch (what)
        {
            case "regular file":
                File.WriteAllText(path, "someone's precious data");
                break;
            case "locked file":
                File.WriteAllText(path, "someone's locked data");
                planted._held.Add(LockHolder.Start(path));
                break;
            case "symlink to a socket":
                string dir = Directory.CreateTempSubdirectory("npt-target-").FullName;
                planted._extra.Add(dir);
                var target = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                target.Bind(new UnixDomainSocketEndPoint(System.IO.Path.Combine(dir, "s")));
                target.Listen(8);
                planted._held.Add(target);
                File.CreateSymbolicLink(path, System.IO.Path.Combine(dir, "s"));
                break;
            case "dangling symlink":
                File.CreateSymbolicLink(path, "/nonexistent/npipes-" + Guid.NewGuid().ToString("N"));
                break;
            case "symlink loop":
                File.CreateSymbolicLink(path, path);
                break;
            case "FIFO":
                Run("mkfifo", "-m", "600", path);
                break;
            case "directory":
                Directory.CreateDirectory(path);
                File.WriteAllText(System.IO.Path.Combine(path, "inside"), "kept");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(what), what, null);
        }
        return planted;
    }

    /// <summary>Everything lstat says about the path, plus its content (regular file) or entries (directory).</summary>
    public string Snapshot()
    {
        // coreutils stat looks with lstat: device, inode, type and mode, owner, links, size, mtime, ctime (any chmod,
        // link or rename moves it), and for a symbolic link its target.
        string snapshot = Run("stat", "-c", "%d %i %f %u %h %s %y %z %N", Path);
        if (_what is "regular file" or "locked file")
        {
            snapshot += Run("sha256sum", Path); // reads without taking the flock
        }
        else if (_what == "directory")
        {
            snapshot += string.Join(",", Directory.GetFileSystemEntries(Path).Order(StringComparer.Ordinal));
        }
        return snapshot;
    }

    public void Dispose()
    {
        if (_what == "FIFO")
        {
            // A build that opened the FIFO for reading is blocked in open(); opening it read-write (which never blocks
            // on Linux) frees it.
            Run("sh", "-c", ": <> \"$1\"", "sh", Path);
        }
        foreach (IDisposable held in _held)
        {
            held.Dispose();
        }
        if (_what == "directory")
        {
            Directory.Delete(Path, recursive: true);
        }
        else
        {
            File.Delete(Path);
        }
        foreach (string dir in _extra)
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs a program to its end (bounded) and returns its standard output.</summary>
    internal static string Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        Task<string> error = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TestPipes.Patience), program + " did not exit");
        Assert.True(p.ExitCode == 0, $"{program} failed: {error.Result}");
        return output;
    }

    /// <summary>A child process holding an exclusive flock on a file until disposed.</summary>
    private sealed class LockHolder : IDisposable
    {
        private readonly Process _process;

        private LockHolder(Process process) => _process = process;

        public static LockHolder Start(string path)
        {
            // util-linux flock takes the lock, then runs the shell, which says so and waits for its input to end.
            var psi = new ProcessStartInfo("flock") { RedirectStandardOutput = true, RedirectStandardInput = true };
            foreach (string a in new[] { "-x", path, "sh", "-c", "echo locked; exec cat >/dev/null" })
            {
                psi.ArgumentList.Add(a);
            }
            Process p = Process.Start(psi)!;
            Assert.Equal("locked", p.StandardOutput.ReadLine());
            return new LockHolder(p);
        }

        public void Dispose()
        {
            _process.StandardInput.Close(); // EOF: the child exits and its lock goes with it
            if (!_process.WaitForExit(TestPipes.Patience))
            {
                _process.Kill();
            }
            _process.Dispose();
        }
    }
}
