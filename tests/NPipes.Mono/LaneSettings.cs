using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace NPipes.Mono;

/// <summary>What .ci/mono-lane.sh tells the app, through the environment: the peers' programs and the second account.</summary>
internal sealed class LaneSettings(string dotnet, string cli, string python, string pythonPath, string dotnetPeer, string pythonPeer, OtherUser? otherUser)
{
    /// <summary>The dotnet host (an absolute path, so another account finds it too).</summary>
    public string Dotnet { get; } = dotnet;

    /// <summary>NPipes.Cli.dll, the .NET CLI `npipes`.</summary>
    public string Cli { get; } = cli;

    /// <summary>The python3 interpreter.</summary>
    public string Python { get; } = python;

    /// <summary>The folder holding the `npipes` Python package.</summary>
    public string PythonPath { get; } = pythonPath;

    /// <summary>This app's net10.0 build: the .NET side of a frame above the CLI's 16 MiB limit.</summary>
    public string DotnetPeer { get; } = dotnetPeer;

    /// <summary>big_peer.py: the Python side of that frame.</summary>
    public string PythonPeer { get; } = pythonPeer;

    /// <summary>The account the refusal checks run a peer as; null when the lane is not root (those checks are skipped).</summary>
    public OtherUser? OtherUser { get; } = otherUser;

    /// <exception cref="InvalidOperationException">A variable is missing or names no file.</exception>
    public static LaneSettings FromEnvironment()
    {
        string? other = Environment.GetEnvironmentVariable("NPIPES_MONO_OTHER_USER");
        return new LaneSettings(
            File("NPIPES_MONO_DOTNET"), File("NPIPES_MONO_CLI"), File("NPIPES_MONO_PYTHON"),
            Folder("NPIPES_MONO_PYTHONPATH"), File("NPIPES_MONO_DOTNET_PEER"), File("NPIPES_MONO_PYTHON_PEER"),
            string.IsNullOrEmpty(other) ? null : Mono.OtherUser.Parse(other!, File("NPIPES_MONO_MONO"), File("NPIPES_MONO_SHARED_APP")));
    }

    private static string Variable(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{name} is not set (run .ci/mono-lane.sh)");

    private static string File(string name) =>
        System.IO.File.Exists(Variable(name)) ? Variable(name) : throw new InvalidOperationException($"{name}: no file '{Variable(name)}'");

    private static string Folder(string name) =>
        Directory.Exists(Variable(name)) ? Variable(name) : throw new InvalidOperationException($"{name}: no folder '{Variable(name)}'");
}

/// <summary>
/// A second OS account ("UID:GID"), made for the lane and deleted after it, and how it runs this app under Mono: the
/// mono program and a copy of the app it can read.
/// </summary>
internal sealed class OtherUser(uint uid, uint gid, string mono, string app)
{
    public uint Uid { get; } = uid;

    public uint Gid { get; } = gid;

    /// <summary>`mono APP peer ARGS` as this account (see <see cref="PeerRoles"/>).</summary>
    public Command MonoPeer(params string[] args) => new Command(mono, [app, "peer", .. args], new Dictionary<string, string>()).As(this);

    public static OtherUser Parse(string text, string mono, string app)
    {
        string[] parts = text.Split(':');
        if (parts.Length != 2 || !uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid)
            || !uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
        {
            throw new InvalidOperationException($"NPIPES_MONO_OTHER_USER must be UID:GID, not '{text}'");
        }
        return new OtherUser(uid, gid, mono, app);
    }
}
