using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

/// <summary>
/// Throwaway OS accounts and groups for the access tests (docs/access.md): random names, created with groupadd/useradd
/// (no home, no login shell, no group of their own) and deleted on dispose. Needs root and setpriv; a test skips with
/// the reason otherwise. Also runs the built npipes CLI as one of them, from a copy of its own (the checkout may sit
/// in a folder the account cannot read).
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class OsAccounts : IDisposable
{
    private readonly List<string> _users = [];
    private readonly List<string> _groups = [];
    private string? _cliCopy;

    private OsAccounts()
    {
    }

    /// <summary>An account: name, uid, primary gid.</summary>
    public sealed record Account(string Name, int Uid, int Gid);

    /// <summary>A fresh set; skips the test where accounts cannot be made.</summary>
    public static OsAccounts Require()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix only: Windows accounts are not created by tests (see README, Windows under Wine).");
        }
        if (UnixSockets.CurrentUid != 0 || !File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/sbin/useradd") || !File.Exists("/usr/sbin/groupadd"))
        {
            Assert.Skip("Needs root, setpriv, useradd and groupadd to create and act as other accounts.");
        }
        return new OsAccounts();
    }

    /// <summary>A new group; returns its name and gid.</summary>
    public (string Name, int Gid) Group()
    {
        string name = RandomName("npg");
        Run("groupadd", name);
        _groups.Add(name);
        return (name, Id("/etc/group", name, 2));
    }

    /// <summary>A new account whose primary group is <paramref name="primaryGid"/> (default: 'nogroup' or the users group) and with <paramref name="supplementary"/> groups.</summary>
    public Account User(int? primaryGid = null, params string[] supplementary)
    {
        string name = RandomName("npu");
        var args = new List<string> { "-M", "-N", "-r", "-s", "/usr/sbin/nologin" };
        if (primaryGid is int gid)
        {
            args.AddRange(["-g", gid.ToString(CultureInfo.InvariantCulture)]);
        }
        if (supplementary.Length > 0)
        {
            args.AddRange(["-G", string.Join(",", supplementary)]);
        }
        args.Add(name);
        Run("useradd", [.. args]);
        _users.Add(name);
        return new Account(name, Id("/etc/passwd", name, 2), Id("/etc/passwd", name, 3));
    }

    /// <summary>
    /// Starts the npipes CLI as <paramref name="account"/> (its uid, primary gid and its supplementary groups from
    /// /etc/group), from a world-readable copy of the built CLI.
    /// </summary>
    public Process StartCli(Account account, params string[] args)
    {
        string copy = CliCopy();
        return StartAs(account, ["/usr/bin/dotnet", Path.Combine(copy, "NPipes.Cli.dll"), .. args], new()
        {
            ["HOME"] = copy,
            ["DOTNET_CLI_HOME"] = copy,
            ["DOTNET_NOLOGO"] = "1",
        });
    }

    /// <summary>Starts <c>python -c script args</c> as <paramref name="account"/>, with its groups from /etc/group as
    /// <see cref="StartCli"/> (the script is passed whole: nothing of the checkout needs to be readable).</summary>
    public static Process StartPython(Account account, string python, string script, params string[] args) =>
        StartAs(account, [python, "-c", script, .. args], []);

    private static Process StartAs(Account account, string[] command, Dictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("/usr/bin/setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (string a in (string[])[$"--reuid={account.Uid}", $"--regid={account.Gid}", "--init-groups", "--", .. command])
        {
            start.ArgumentList.Add(a);
        }
        foreach ((string key, string? value) in environment)
        {
            start.Environment[key] = value;
        }
        Process process = Process.Start(start)!;
        process.StandardInput.Close();
        return process;
    }

    /// <summary>Runs the CLI as <paramref name="account"/> to the end (bounded): exit code, stdout, stderr.</summary>
    public async Task<(int Code, string Out, string Err)> RunCliAsync(Account account, params string[] args)
    {
        using Process process = StartCli(account, args);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"npipes {string.Join(' ', args)} as {account.Name} did not exit within 60 s; stderr: {await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    public void Dispose()
    {
        foreach (string user in _users)
        {
            Run("userdel", user);
        }
        foreach (string group in _groups)
        {
            Run("groupdel", group);
        }
        if (_cliCopy is not null)
        {
            Directory.Delete(_cliCopy, recursive: true);
        }
    }

    /// <summary>The built CLI copied into a fresh world-readable folder (made once per set).</summary>
    private string CliCopy()
    {
        if (_cliCopy is not null)
        {
            return _cliCopy;
        }
        string source = Path.GetDirectoryName(Cli.CliProcess.CliDll)!;
        string copy = Directory.CreateTempSubdirectory("npipes-cli-").FullName;
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(copy, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            File.SetUnixFileMode(target, (UnixFileMode)0b110_100_100);
        }
        foreach (string dir in Directory.EnumerateDirectories(copy, "*", SearchOption.AllDirectories).Append(copy))
        {
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        }
        return _cliCopy = copy;
    }

    private static string RandomName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..12];

    private static int Id(string file, string name, int field) =>
        int.Parse(File.ReadLines(file).Select(l => l.Split(':')).First(f => f[0] == name)[field], CultureInfo.InvariantCulture);

    private static void Run(string program, params string[] args)
    {
        using Process process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, UseShellExecute = false })!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} failed: {error}");
    }
}
