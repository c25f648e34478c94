using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace NPipes.Bench;

/// <summary>What to run and for how long.</summary>
public sealed record BenchOptions
{
    /// <summary>The short mode: about two minutes for every figure.</summary>
    public static BenchOptions Quick { get; } = new() { IsQuick = true };

    /// <summary>The full mode: longer, steadier runs.</summary>
    public static BenchOptions Full { get; } = new();

    /// <summary>Whether this is the short mode (shorter measurements, 3 runs).</summary>
    public bool IsQuick { get; init; }

    /// <summary>Runs per figure (the printed value is their median). At least 3; default 5 quick, 9 full.</summary>
    public int Runs { get; init; }

    /// <summary>Only these figures (exact names); empty for all.</summary>
    public IReadOnlyList<string> Only { get; init; } = [];

    /// <summary>
    /// The command that starts a peer process; the runner appends <see cref="BenchRunner.PeerArgument"/> and the peer's
    /// arguments, and the started program must hand them to <see cref="BenchRunner.RunPeerAsync"/>. Null (the default):
    /// this same program (<see cref="Environment.ProcessPath"/>, plus the entry assembly when run by the dotnet host)
    /// followed by <see cref="PeerPrefix"/>.
    /// </summary>
    public IReadOnlyList<string>? PeerCommand { get; init; }

    /// <summary>Arguments placed before <see cref="BenchRunner.PeerArgument"/> when re-launching this program (e.g. <c>["bench"]</c> for a CLI verb).</summary>
    public IReadOnlyList<string> PeerPrefix { get; init; } = [];

    internal int EffectiveRuns => Math.Max(3, Runs > 0 ? Runs : IsQuick ? 5 : 9);

    /// <summary>Seconds each measurement lasts (a run of a rate figure).</summary>
    internal double Seconds => IsQuick ? 0.4 : 1.0;

    /// <summary>Parses the command line of the bench program.</summary>
    public static bool TryParse(string[] args, [NotNullWhen(true)] out BenchOptions? options, [NotNullWhen(false)] out string? error)
    {
        options = null;
        error = null;
        var result = new BenchOptions();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    result = result with { IsQuick = true };
                    break;
                case "--runs" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int runs) && runs >= 3:
                    result = result with { Runs = runs };
                    i++;
                    break;
                case "--only" when i + 1 < args.Length:
                    result = result with { Only = args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
                    i++;
                    break;
                default:
                    error = $"unknown or incomplete argument '{args[i]}' (--runs needs a number >= 3)";
                    return false;
            }
        }
        options = result;
        return true;
    }
}
