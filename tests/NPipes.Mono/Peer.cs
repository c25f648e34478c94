using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace NPipes.Mono;

/// <summary>
/// A program on the other end: the .NET CLI or the Python package, each as its `npipes` command line and as its
/// large-frame peer (this app's net10.0 build, big_peer.py).
/// </summary>
internal sealed class Peer(string label, string program, string[] cliPrefix, string[] bigPrefix, Dictionary<string, string> environment)
{
    /// <summary>How the checks name this peer.</summary>
    public string Label { get; } = label;

    /// <summary>`dotnet NPipes.Cli.dll`, and this app's net10.0 build for large frames.</summary>
    public static Peer DotnetCli(LaneSettings s) => new(".NET CLI", s.Dotnet, [s.Cli], [s.DotnetPeer, "peer"], Quiet());

    /// <summary>`python3 -m npipes`, and big_peer.py for large frames.</summary>
    public static Peer Python(LaneSettings s)
    {
        Dictionary<string, string> environment = Quiet();
        environment["PYTHONPATH"] = s.PythonPath;
        environment["PYTHONDONTWRITEBYTECODE"] = "1";
        return new Peer("Python", s.Python, ["-m", "npipes"], [s.PythonPeer], environment);
    }

    /// <summary>`npipes ARGS` of this peer.</summary>
    public Command Cli(params string[] args) => new(program, cliPrefix.Concat(args), environment);

    /// <summary>The large-frame peer: ROLE NAME SIZE (see <see cref="PeerRoles"/>).</summary>
    public Command Big(params string[] args) => new(program, bigPrefix.Concat(args), environment);

    /// <summary>.NET diagnostics off: no IPC socket per peer process in the temporary folder.</summary>
    private static Dictionary<string, string> Quiet() => new() { ["DOTNET_EnableDiagnostics"] = "0", ["DOTNET_NOLOGO"] = "1" };
}

/// <summary>A program, its arguments and the environment variables it gets besides the lane's.</summary>
internal sealed class Command(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
{
    public string Program { get; } = program;

    public IReadOnlyList<string> Arguments { get; } = arguments.ToArray();

    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    /// <summary>The same command run as <paramref name="user"/>: setpriv, no supplementary groups, HOME '/' (root's home
    /// is not readable by that account).</summary>
    public Command As(OtherUser user)
    {
        string[] setpriv = [
            "--reuid=" + user.Uid.ToString(CultureInfo.InvariantCulture), "--regid=" + user.Gid.ToString(CultureInfo.InvariantCulture),
            "--clear-groups", Program];
        var environment = Environment.ToDictionary(pair => pair.Key, pair => pair.Value);
        environment["HOME"] = "/";
        return new Command("setpriv", setpriv.Concat(Arguments), environment);
    }

    public override string ToString() => Program + " " + string.Join(" ", Arguments);
}
