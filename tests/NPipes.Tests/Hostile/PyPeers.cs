using System.Diagnostics;

namespace NPipes.Tests.Hostile;

/// <summary>
/// Foreign processes driven by python3 (what CI has beside .NET): a client that dies mid-frame, a minimal npipes echo
/// server that can be SIGKILLed, and clients running as another OS user. Each prints one status line.
/// </summary>
internal static class PyPeers
{
    /// <summary>Connects, sends a header and half the payload, says "ready", then waits to be killed.</summary>
    public const string HalfFrameClient = """
        import socket, struct, sys, time
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        n = 100000
        s.sendall(struct.pack('>II', n + 8, n) + b'x' * (n // 2))
        print('ready', flush=True)
        time.sleep(120)
        """;

    /// <summary>An npipes echo server (frames are echoed byte for byte, CRC field included); says "listening".</summary>
    public const string EchoServer = """
        import os, socket, struct, sys, threading
        path = sys.argv[1]
        try: os.unlink(path)
        except FileNotFoundError: pass
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        os.chmod(path, int(sys.argv[2], 8) if len(sys.argv) > 2 else 0o600)
        srv.listen(64)
        def exact(c, n):
            b = b''
            while len(b) < n:
                chunk = c.recv(n - len(b))
                if not chunk: return None
                b += chunk
            return b
        def serve(c):
            with c:
                while True:
                    h = exact(c, 8)
                    if h is None: return
                    rest = exact(c, struct.unpack('>I', h[4:])[0] + 4)
                    if rest is None: return
                    c.sendall(h + rest)
        print('listening', flush=True)
        while True:
            c, _ = srv.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        """;

    /// <summary>Connects, sends one 5-byte frame, prints "denied", "closed" (accepted then dropped) or "reply:HEX".</summary>
    public const string ProbeClient = """
        import socket, struct, sys
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        try:
            s.connect(sys.argv[1])
        except PermissionError:
            print('denied', flush=True); sys.exit(0)
        try:
            s.sendall(struct.pack('>II', 13, 5) + b'hello' + struct.pack('>I', 0))
            b = b''
            while len(b) < 17:
                chunk = s.recv(17 - len(b))
                if not chunk: break
                b += chunk
        except (ConnectionResetError, BrokenPipeError):
            b = b''
        print('reply:' + b.hex() if b else 'closed', flush=True)
        """;

    /// <summary>Starts python3 with a script; <paramref name="asUser"/> runs it as that uid/gid via setpriv.</summary>
    public static Process Start(string python, string script, string[] args, (int Uid, int Gid)? asUser = null)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        if (asUser is { } user)
        {
            psi.FileName = "setpriv";
            foreach (string a in new[] { $"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", python })
            {
                psi.ArgumentList.Add(a);
            }
        }
        else
        {
            psi.FileName = python;
        }
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    /// <summary>The process's first line of output (bounded wait), with its stderr if it ended without one.</summary>
    public static async Task<string> FirstLineAsync(Process p)
    {
        string? line = await p.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TestPipes.Patience);
        if (line is null)
        {
            string err = await p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken).WaitAsync(TestPipes.Patience);
            throw new InvalidOperationException($"python3 printed nothing: {err}");
        }
        return line;
    }

    /// <summary>SIGKILL (Process.Kill is SIGKILL on Unix) and reap.</summary>
    public static void KillHard(Process p)
    {
        p.Kill(entireProcessTree: false);
        p.WaitForExit();
    }
}
