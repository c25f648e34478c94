using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using NPipes;

internal static partial class Stress
{
    // ---------------------------------------------------------------- exhaust

    /// <summary>
    /// Descriptor exhaustion and recovery: a child server (default options) runs under a lowered RLIMIT_NOFILE; each
    /// round opens more idle clients than it has descriptors, checks that a client connected before is still served,
    /// closes them and waits until a new client is served. The server must live through every round.
    /// </summary>
    private static async Task<int> ExhaustAsync(Args o)
    {
        int limit = o.Int("limit", 256);
        int idle = o.Int("idle", 2000);
        int rounds = o.Int("rounds", 10);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        if (OperatingSystem.IsWindows() || !File.Exists("/usr/bin/prlimit"))
        {
            Console.WriteLine("[exhaust] needs Linux and prlimit; skipped");
            Console.WriteLine("[exhaust] PASS");
            return 0;
        }
        RaiseOwnLimit(idle + 1024); // the idle clients are this process's descriptors
        string name = NewName();
        string self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo("/usr/bin/prlimit") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add($"--nofile={limit}");
        psi.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            psi.ArgumentList.Add(System.Reflection.Assembly.GetExecutingAssembly().Location);
        }
        psi.ArgumentList.Add("child-default-server");
        psi.ArgumentList.Add(name);
        using Process server = Process.Start(psi)!;
        string? maxLine = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var options = new NPipesOptions { Timeout = TimeSpan.FromSeconds(10) };
        await using PipeConnection first = await PipeConnection.ConnectAsync(name, options);
        double slowestRecovery = 0;
        long refusedSeen = 0;
        for (int round = 0; round < rounds && failures.Count == 0; round++)
        {
            var held = new List<Socket>();
            for (int i = 0; i < idle; i++)
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    s.Connect(new UnixDomainSocketEndPoint(PipeNames.GetPath(name)));
                    held.Add(s);
                }
                catch (SocketException)
                {
                    s.Dispose(); // the backlog is full while the server sheds: that client just does not get in
                }
            }
            // Round trips on the first connection are queued behind the backlog the server works through.
            if (!await RoundTripAsync(first, $"round {round}"))
            {
                failures.Add($"round {round}: the connection made before the flood was not served");
            }
            refusedSeen += held.Count(s => s.Poll(0, SelectMode.SelectRead) && s.Available == 0);
            foreach (Socket s in held)
            {
                s.Dispose();
            }
            var recovery = Stopwatch.StartNew();
            bool served = false;
            while (!served && recovery.Elapsed < TimeSpan.FromSeconds(20))
            {
                try
                {
                    await using PipeConnection fresh = await PipeConnection.ConnectAsync(name, options);
                    served = await RoundTripAsync(fresh, "fresh");
                }
                catch (Exception e) when (e is NPipesException or IOException or SocketException)
                {
                    await Task.Delay(10); // refused while the server still counts the closed ones
                }
            }
            slowestRecovery = Math.Max(slowestRecovery, recovery.Elapsed.TotalSeconds);
            if (!served)
            {
                failures.Add($"round {round}: no new client was served within 20 s of the idle ones closing");
            }
            if (server.HasExited)
            {
                failures.Add($"round {round}: the server exited with {server.ExitCode}");
            }
        }
        int serverFds = Directory.Exists($"/proc/{server.Id}/fd") ? Directory.GetFiles($"/proc/{server.Id}/fd").Length : -1;
        if (!server.HasExited)
        {
            server.Kill();
        }
        await server.WaitForExitAsync();
        return Verdict("exhaust", clock, failures,
            $"server under RLIMIT_NOFILE {limit} ({maxLine}): {rounds} rounds of {idle:N0} idle clients; the first connection served in every round; " +
            $"{refusedSeen:N0} idle clients closed unread by the server; a new client served at most {slowestRecovery:0.00} s after the idle ones left; " +
            $"server fds at the end {serverFds}");
    }

    private static async Task<bool> RoundTripAsync(PipeConnection connection, string text)
    {
        using PipeMessage reply = await connection.RequestAsync(System.Text.Encoding.ASCII.GetBytes(text), TimeSpan.FromSeconds(20));
        return reply.Payload.Span.SequenceEqual(System.Text.Encoding.ASCII.GetBytes(text));
    }

    private static async Task<int> ChildDefaultServerAsync(string name)
    {
        await using var server = PipeServer.Listen(name);
        Console.WriteLine($"max connections {server.Options.MaxConnections}");
        Console.Out.Flush();
        await server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload));
        return 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", EntryPoint = "getrlimit")]
    private static extern int GetRLimit(int resource, ref RLimit limit);

    [DllImport("libc", EntryPoint = "setrlimit")]
    private static extern int SetRLimit(int resource, ref RLimit limit);

    /// <summary>Raises this process's soft open-file limit to at least <paramref name="wanted"/> (up to the hard limit).</summary>
    private static void RaiseOwnLimit(int wanted)
    {
        const int NoFile = 7; // Linux RLIMIT_NOFILE
        var limit = default(RLimit);
        if (GetRLimit(NoFile, ref limit) == 0 && limit.Current < (ulong)wanted)
        {
            limit.Current = Math.Min((ulong)wanted, limit.Maximum);
            _ = SetRLimit(NoFile, ref limit);
        }
    }
}
