using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>
/// The contract end to end (docs/rpc.md §8): a .NET target → <c>rpc.discover</c> → <c>npipes rpc stubs --lang python</c>
/// → a Python program that uses the generated module passes <c>mypy --strict</c> and runs against the live .NET server;
/// a program that calls it wrongly fails <c>mypy</c>. Needs python3 and mypy (Debian's) on PATH.
/// </summary>
public class RoundTripTests
{
    public sealed record Stats(int Count, double Mean, string? Label = null);

    public enum Shade { DarkRed, Blue }

    /// <summary>Served with the camelCase method name mapping, so Python's <c>add</c> reaches .NET's <c>Add</c>.</summary>
    public sealed class Calculator
    {
        public int Add(int a, int b) => a + b;

        public Task<Stats> SummarizeAsync(double[] values, string? label = null) => Task.FromResult(new Stats(values.Length, values.Average(), label));

        public Shade Next(Shade shade) => shade == Shade.DarkRed ? Shade.Blue : Shade.DarkRed;

        public Dictionary<string, Stats> Group(Dictionary<string, double[]> groups) =>
            groups.ToDictionary(g => g.Key, g => new Stats(g.Value.Length, g.Value.Average()));

        public void Check(Stats stats)
        {
            if (stats.Count < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(stats), "count below zero");
            }
        }
    }

    private const string User = """
        "A program that uses the generated contract: mypy --strict accepts it, and it runs against the live .NET server."
        import sys

        from npipes import rpc

        from calculator_contract import Calculator, CalculatorClient, Stats


        def use(calc: Calculator) -> None:
            total: int = calc.add(2, 3)
            stats: Stats = calc.summarize([1.0, 2.0, 4.5], 'x')
            plain = calc.summarize([2.0])
            print(total, stats.count, stats.mean, stats.label, plain.label)
            print(calc.next('darkRed'))
            groups = calc.group({'a': [1.0, 3.0]})
            print(sorted(groups), groups['a'].mean)
            calc.check(Stats(count=1, mean=2.0))
            try:
                calc.check(Stats(count=-1, mean=2.0))
            except rpc.RemoteError as e:
                print(e.code, e.message)
            for wrong in ({'count': '3', 'mean': 1}, {'count': 3}, {'count': 3, 'mean': 1, 'sum': 3}):
                try:
                    Stats.from_json(wrong)
                except TypeError as e:
                    print(e)


        with rpc.connect(sys.argv[1], timeout=10, crc=True) as client:
            use(CalculatorClient(client, timeout=10))
        """;

    private const string Wrong = """
        "Calls the generated contract wrongly: mypy --strict must reject each line."
        from calculator_contract import Calculator, Stats


        def use(calc: Calculator) -> None:
            calc.add('2', 3)
            calc.next('green')
            text: str = calc.summarize([1.0])
            calc.check(Stats(count=1.5, mean=2.0))
        """;

    [Fact]
    public async Task A_dotnet_target_becomes_a_typed_Python_module_that_mypy_strict_checks_and_that_calls_the_live_server()
    {
        await using RunningServer server = DiscoveryTests.ServeWithDiscovery(new Calculator(), new JsonRpcTargetOptions { MethodNameTransform = CommonMethodNameTransforms.CamelCase });
        using var scratch = new Tool.Scratch();
        Tool.Output stubs = await Tool.NpipesAsync("rpc", "stubs", server.Name, "--lang", "python", "--out", scratch.File("calculator_contract.py"), "--crc", "--timeout", "20");
        Assert.True(stubs.Code == 0, stubs.ToString());
        await File.WriteAllTextAsync(scratch.File("user.py"), User, Rpc.Ct);
        await File.WriteAllTextAsync(scratch.File("wrong.py"), Wrong, Rpc.Ct);
        var environment = new Dictionary<string, string>
        {
            ["MYPYPATH"] = scratch.Path + Path.PathSeparator + Path.Combine(Rpc.RepoRoot, "python"),
            ["PYTHONPATH"] = scratch.Path + Path.PathSeparator + Path.Combine(Rpc.RepoRoot, "python"),
        };
        string[] mypy = ["--strict", "--follow-imports=silent", "--no-error-summary", "--cache-dir", scratch.File(".mypy_cache")];

        Tool.Output typed = await Tool.RunAsync("mypy", [.. mypy, scratch.File("calculator_contract.py"), scratch.File("user.py")], environment);
        Assert.True(typed.Code == 0, typed.ToString());

        Tool.Output wrong = await Tool.RunAsync("mypy", [.. mypy, scratch.File("wrong.py")], environment);
        Assert.Equal(1, wrong.Code);
        Assert.Contains("wrong.py:6: error: Argument 1 to \"add\" of \"Calculator\" has incompatible type \"str\"; expected \"int\"", wrong.Out);
        Assert.Contains("wrong.py:7: error: Argument 1 to \"next\" of \"Calculator\" has incompatible type", wrong.Out);
        Assert.Contains("wrong.py:8: error: Incompatible types in assignment (expression has type \"Stats\", variable has type \"str\")", wrong.Out);
        Assert.Contains("wrong.py:9: error: Argument \"count\" to \"Stats\" has incompatible type \"float\"; expected \"int\"", wrong.Out);

        Tool.Output run = await Tool.RunAsync("python3", [scratch.File("user.py"), server.Name], environment);
        Assert.True(run.Code == 0, run.ToString());
        Assert.Equal("5 3 2.5 x None\nblue\n['a'] 2.0\n-32000 count below zero (Parameter 'stats')\n"
            + "Stats.count: expected an integer, got '3'\nStats: unknown members [], missing members ['mean']\nStats: unknown members ['sum'], missing members []\n", run.Out);
    }
}
