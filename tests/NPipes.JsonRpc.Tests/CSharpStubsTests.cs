using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>
/// <c>npipes rpc stubs --lang csharp</c> end to end: the generated interface and records compile (no warnings, nullable
/// on) and, through <see cref="PipeConnectionJsonRpcExtensions.AttachJsonRpc{T}(PipeConnection)"/>, call the live server.
/// </summary>
public class CSharpStubsTests
{
    internal static Assembly Compile(string code)
    {
        string[] platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        MetadataReference[] references = [.. platform.Append(typeof(JsonRpc).Assembly.Location).Select(p => MetadataReference.CreateFromFile(p))];
        CSharpCompilation compilation = CSharpCompilation.Create(
            "GeneratedStubs",
            [CSharpSyntaxTree.ParseText(code)],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        Microsoft.CodeAnalysis.Emit.EmitResult emitted = compilation.Emit(image);
        Diagnostic[] problems = [.. emitted.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning)];
        Assert.True(emitted.Success && problems.Length == 0, string.Join("\n", problems.Select(d => d.ToString())) + "\n" + code);
        return Assembly.Load(image.ToArray());
    }

    /// <summary>Calls <paramref name="method"/> (the overload taking <paramref name="args"/> and a token) on <paramref name="proxy"/>.</summary>
    internal static async Task<object?> CallAsync(Type contract, object proxy, string method, params object?[] args)
    {
        MethodInfo overload = contract.GetMethods().Single(m => m.Name == method && m.GetParameters().Length == args.Length + 1);
        var task = (Task)overload.Invoke(proxy, [.. args, CancellationToken.None])!;
        await task.Bounded();
        return task.GetType().GetProperty("Result")?.GetValue(task);
    }

    [Fact]
    public async Task Generated_csharp_stubs_compile_and_call_the_live_server_through_AttachJsonRpc()
    {
        await using RunningServer server = DiscoveryTests.ServeWithDiscovery(new RoundTripTests.Calculator(), new JsonRpcTargetOptions { MethodNameTransform = CommonMethodNameTransforms.CamelCase });
        Tool.Output stubs = await Tool.NpipesAsync("rpc", "stubs", server.Name, "--lang", "csharp", "--crc", "--timeout", "20");
        Assert.True(stubs.Code == 0, stubs.ToString());
        Assembly generated = Compile(stubs.Out);
        Type contract = generated.GetType("CalculatorContract.ICalculator")!;
        Type stats = generated.GetType("CalculatorContract.Stats")!;

        PipeConnection connection = await PipeConnection.ConnectAsync(server.Name, Rpc.Options(), Rpc.Ct);
        MethodInfo attach = typeof(PipeConnectionJsonRpcExtensions).GetMethods().Single(m => m.Name == nameof(PipeConnectionJsonRpcExtensions.AttachJsonRpc) && m.IsGenericMethod);
        object proxy = attach.MakeGenericMethod(contract).Invoke(null, [connection])!;
        using var _ = (IDisposable)proxy;

        Assert.Equal(5, await CallAsync(contract, proxy, "AddAsync", 2, 3));
        object summary = (await CallAsync(contract, proxy, "SummarizeAsync", new List<double> { 1, 2, 4.5 }, "x"))!;
        Assert.Equal("Stats { Count = 3, Mean = 2.5, Label = x }", summary.ToString());
        Assert.Equal("blue", await CallAsync(contract, proxy, "NextAsync", "darkRed"));
        var groups = (System.Collections.IDictionary)(await CallAsync(contract, proxy, "GroupAsync", new Dictionary<string, IReadOnlyList<double>> { ["a"] = [1, 3] }))!;
        Assert.Equal("Stats { Count = 2, Mean = 2, Label =  }", groups["a"]!.ToString());
        object negative = Activator.CreateInstance(stats, -1, 2.0, null)!;
        var failed = await Assert.ThrowsAsync<RemoteInvocationException>(() => CallAsync(contract, proxy, "CheckAsync", negative));
        Assert.StartsWith("count below zero", failed.Message);
    }

    [Theory]
    // An object type named as the type an optional member's attribute names (it used to bind to the record).
    [InlineData("dotnet", "JsonIgnoreCondition", "a")]
    [InlineData("python", "JsonIgnoreCondition", "a")]
    [InlineData("dotnet", "JsonIgnore", "a")]
    // A member named as its record (C# refuses a member named as its enclosing type: it becomes Point_).
    [InlineData("dotnet", "Point", "point")]
    [InlineData("python", "Point", "point")]
    public async Task Stubs_compile_whatever_an_object_type_or_member_is_named(string cli, string type, string member)
    {
        string document = """
            {"openrpc":"1.3.2","info":{"title":"T","version":"1"},
             "methods":[{"name":"m","params":[{"name":"x","schema":{"$ref":"#/components/schemas/TYPE"},"required":true},
                                              {"name":"y","schema":{"type":"integer"},"required":false}],
                         "result":{"name":"result","schema":{"type":"null"}}}],
             "components":{"schemas":{"TYPE":{"type":"object","properties":{"MEMBER":{"type":"integer"},"b":{"type":"string"}},"required":["MEMBER"]}}}}
            """.Replace("TYPE", type, StringComparison.Ordinal).Replace("MEMBER", member, StringComparison.Ordinal);
        using var scratch = new Tool.Scratch();
        string file = scratch.File("contract.json");
        await File.WriteAllTextAsync(file, document, Rpc.Ct);
        string[] args = ["rpc", "stubs", file, "--lang", "csharp"];
        Tool.Output stubs = cli == "dotnet" ? await Tool.NpipesAsync(args)
            : await Tool.RunAsync("python3", ["-m", "npipes", .. args], new Dictionary<string, string> { ["PYTHONPATH"] = Path.Combine(Rpc.RepoRoot, "python") });
        Assert.True(stubs.Code == 0, stubs.ToString());
        Assert.Single(Compile(stubs.Out).GetTypes(), t => t.Name == type);
    }
}
