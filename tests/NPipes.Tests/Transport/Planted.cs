using System.Diagnostics;
using System.Net.Sockets;

namespace NPipes.Tests.Transport;

/// <summary>
/// Something planted at a pipe's path that is not a pipe's socket, as another program (or an attacker) could leave it,
/// with a snapshot of it taken by python3's <c>os.lstat</c> (not by the code under test) to prove it is left exactly as
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

    /// <summary>Everything lstat says about the path, plus its content (regular file), target (symlink) or entries (directory).</summary>
    public string Snapshot() => Python(SnapshotScript, Path);

    private const string SnapshotScript = """
        import hashlib, os, stat, sys
        p = sys.argv[1]
        st = os.lstat(p)
        out = [st.st_dev, st.st_ino, oct(st.st_mode), st.st_uid, st.st_nlink, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        if stat.S_ISLNK(st.st_mode): out.append(os.readlink(p))
        elif stat.S_ISREG(st.st_mode):
            with open(p, 'rb') as f: out.append(hashlib.sha256(f.read()).hexdigest())
        elif stat.S_ISDIR(st.st_mode): out.append(sorted(os.listdir(p)))
        print(out)
        """;

    public void Dispose()
    {
        if (_what == "FIFO")
        {
            // A build that opened the FIFO for reading is blocked in open(); opening the write end frees it.
            Python("import os, sys\ntry: os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK))\nexcept OSError: pass", Path);
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

    internal static string Python(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(TestPipes.Patience), "python3 did not exit");
        Assert.True(p.ExitCode == 0, "python3 failed: " + error);
        return output.Trim();
    }

    private static void Run(string program, params string[] args)
    {
        using Process p = Process.Start(program, args);
        Assert.True(p.WaitForExit(TestPipes.Patience), program + " did not exit");
        Assert.Equal(0, p.ExitCode);
    }

    /// <summary>A child process holding an exclusive flock on a file until disposed.</summary>
    private sealed class LockHolder : IDisposable
    {
        private readonly Process _process;

        private LockHolder(Process process) => _process = process;

        public static LockHolder Start(string path)
        {
            var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardInput = true };
            foreach (string a in new[] { "-c", "import fcntl, sys\nf = open(sys.argv[1], 'rb')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\nsys.stdin.read()", path })
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
