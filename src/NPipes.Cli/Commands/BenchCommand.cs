using System.CommandLine;
using NPipes.Bench;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes bench</c>: a short run of the benchmark (bench/NPipes.Bench), NPipes next to raw pipes.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var runs = OptionValues.Whole("--runs", "Runs per figure (at least 3; the median is printed).", low: 3, defaultValue: 3);
        var only = new Option<string?>("--only") { Description = "Comma-separated figures to run, e.g. pingpong_16B_async,oneway_64B." };
        var command = new Command("bench", "Measure NPipes next to the raw .NET pipe stream, peer in a separate process; one line per figure (a short run: see bench/README.md for the full one).")
        {
            runs, only,
        };
        command.SetAction(async (result, ct) =>
        {
            int n = result.GetValue(runs);
            string[] figures = result.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
            return await BenchRunner.RunAsync(BenchOptions.Quick with { Runs = n, Only = figures }, Console.Out, ct).ConfigureAwait(false);
        });
        return command;
    }
}
