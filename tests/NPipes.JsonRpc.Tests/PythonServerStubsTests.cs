using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>
/// The contract's other direction (docs/rpc.md §8): a Python class served by npipes.rpc → <c>rpc.discover</c> → C# stubs
/// (from the .NET CLI and from the Python CLI) → compiled against → called through
/// <see cref="PipeConnectionJsonRpcExtensions.AttachJsonRpc{T}(PipeConnection)"/>. And the Python CLI's demo target's
/// document passes the OpenRPC meta-schema checks. Needs python3 on PATH.
/// </summary>
public class PythonServerStubsTests
{
    private const string Server = """
        import sys
        from dataclasses import dataclass
        from typing import List, Optional

        from npipes import rpc


        @dataclass
        class Span:
            low: int
            high: int = 10


        @dataclass
        class Stats:
            count: int
            mean: float
            first_label: Optional[str] = None


        class Calculator:
            def add(self, a: int, b: int) -> int:
                return a + b

            def summarize(self, values: List[float],
                          first_label: Optional[str] = None) -> Stats:
                return Stats(len(values), sum(values) / len(values), first_label)

            def check(self, stats: Stats) -> int:
                if stats.count < 0:
                    raise ValueError('count below zero')
                return stats.count

            def scale(self, values: List[float], factor: float = 2.0) -> List[float]:
                return [v * factor for v in values]

            def width(self, span: Span) -> int:
                return span.high - span.low


        server = rpc.RpcServer(sys.argv[1], Calculator(), crc=True)
        print('ready', flush=True)
        server.serve_forever()
        """;

    private static readonly Dictionary<string, string> PythonPath = new() { ["PYTHONPATH"] = Path.Combine(Rpc.RepoRoot, "python") };

    /// <summary>Starts python3 with <paramref name="args"/> and waits for its first line (it serves from then on).</summary>
    private static async Task<Process> StartPythonAsync(params string[] args)
    {
        Process python = Tool.Start("python3", args, PythonPath);
        string? first = await python.StandardOutput.ReadLineAsync(Rpc.Ct).AsTask().Bounded();
        if (first is null)
        {
            Assert.Fail("python3 ended: " + await python.StandardError.ReadToEndAsync(Rpc.Ct).Bounded());
        }
        return python;
    }

    private static void Stop(Process python)
    {
        python.Kill(entireProcessTree: true);
        python.WaitForExit(10_000);
        python.Dispose();
    }

    [Theory]
    [InlineData("dotnet")]
    [InlineData("python")]
    public async Task A_served_Python_class_becomes_a_CSharp_interface_that_calls_it_through_AttachJsonRpc(string cli)
    {
        using var scratch = new Tool.Scratch();
        await File.WriteAllTextAsync(scratch.File("calc_server.py"), Server, Rpc.Ct);
        string name = Rpc.NewName();
        Process python = await StartPythonAsync(scratch.File("calc_server.py"), name);
        try
        {
            string[] stubsArgs = ["rpc", "stubs", name, "--lang", "csharp", "--crc", "--timeout", "20"];
            Tool.Output stubs = cli == "dotnet" ? await Tool.NpipesAsync(stubsArgs) : await Tool.RunAsync("python3", ["-m", "npipes", .. stubsArgs], PythonPath);
            Assert.True(stubs.Code == 0, stubs.ToString());
            Assembly generated = CSharpStubsTests.Compile(stubs.Out);
            Type contract = generated.GetTypes().Single(t => t.Name == "ICalculator");
            Type stats = generated.GetTypes().Single(t => t.Name == "Stats");

            PipeConnection connection = await PipeConnection.ConnectAsync(name, Rpc.Options(), Rpc.Ct);
            MethodInfo attach = typeof(PipeConnectionJsonRpcExtensions).GetMethods().Single(m => m.Name == nameof(PipeConnectionJsonRpcExtensions.AttachJsonRpc) && m.IsGenericMethod);
            object proxy = attach.MakeGenericMethod(contract).Invoke(null, [connection])!;
            using var _ = (IDisposable)proxy;

            Assert.Equal(5L, await CSharpStubsTests.CallAsync(contract, proxy, "AddAsync", 2L, 3L));
            object summary = (await CSharpStubsTests.CallAsync(contract, proxy, "SummarizeAsync", new List<double> { 1, 2, 4.5 }, "x"))!;
            Assert.Equal("Stats { Count = 3, Mean = 2.5, FirstLabel = x }", summary.ToString());
            object plain = (await CSharpStubsTests.CallAsync(contract, proxy, "SummarizeAsync", new List<double> { 2 }, null))!;
            Assert.Equal("Stats { Count = 1, Mean = 2, FirstLabel =  }", plain.ToString());
            Assert.Equal(7L, await CSharpStubsTests.CallAsync(contract, proxy, "CheckAsync", Activator.CreateInstance(stats, 7L, 1.0, "y")));
            var failed = await Assert.ThrowsAsync<RemoteInvocationException>(() => CSharpStubsTests.CallAsync(contract, proxy, "CheckAsync", Activator.CreateInstance(stats, -1L, 1.0, null)));
            Assert.Equal("count below zero", failed.Message);

            // An optional parameter or member that is not nullable: left out, the server's default applies (sent as null,
            // the Python server refuses it: "'factor' must be a number, got null").
            Assert.Equal(new List<double> { 3 }, await CSharpStubsTests.CallAsync(contract, proxy, "ScaleAsync", new List<double> { 1.5 }));
            Assert.Equal(new List<double> { 4.5 }, await CSharpStubsTests.CallAsync(contract, proxy, "ScaleAsync", new List<double> { 1.5 }, 3.0));
            Type span = generated.GetTypes().Single(t => t.Name == "Span");
            Assert.Equal(7L, await CSharpStubsTests.CallAsync(contract, proxy, "WidthAsync", Activator.CreateInstance(span, 3L, null)));
            Assert.Equal(2L, await CSharpStubsTests.CallAsync(contract, proxy, "WidthAsync", Activator.CreateInstance(span, 3L, 5L)));

            // The Python server checks params before running the method: -32602 naming the parameter (StreamJsonRpc
            // raises RemoteMethodNotFoundException for that code).
            using JsonRpc untyped = (await PipeConnection.ConnectAsync(name, Rpc.Options(), Rpc.Ct)).AttachJsonRpc();
            var invalid = await Assert.ThrowsAsync<RemoteMethodNotFoundException>(() => untyped.InvokeWithCancellationAsync<long>("add", ["two", 3], Rpc.Ct).Bounded());
            Assert.Equal(-32602, (int)invalid.ErrorCode);
            Assert.Equal("invalid params for 'add': 'a' must be an integer, got string 'two'", invalid.Message);
        }
        finally
        {
            Stop(python);
        }
    }

    [Fact]
    public async Task The_Python_CLI_demo_targets_document_passes_the_OpenRPC_checks()
    {
        string name = Rpc.NewName();
        Process python = await StartPythonAsync("-m", "npipes", "rpc", "serve", name, "--crc");
        try
        {
            Tool.Output described = await Tool.NpipesAsync("rpc", "describe", name, "--crc", "--timeout", "20");
            Assert.True(described.Code == 0, described.ToString());
            using JsonDocument document = JsonDocument.Parse(described.Out);
            Assert.Empty(OpenRpcChecks.Problems(document.RootElement));
            Assert.Equal(["add", "echo", "fail", "sleep", "whoami"], document.RootElement.GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        }
        finally
        {
            Stop(python);
        }
    }
}
