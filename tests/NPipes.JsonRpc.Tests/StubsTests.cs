using System.Text.Json;

namespace NPipes.RpcTests;

/// <summary><c>npipes rpc describe</c> and <c>npipes rpc stubs</c> (docs/rpc.md §8): the demo target's document, deterministic stubs, clear refusals.</summary>
public class StubsTests
{
    /// <summary>Starts the CLI demo server (its own process: the document is the one <c>npipes rpc serve</c> answers).</summary>
    private static async Task<(System.Diagnostics.Process Server, string Name)> ServeDemoAsync()
    {
        string name = Rpc.NewName();
        System.Diagnostics.Process server = Tool.Start("dotnet", Tool.Npipes("rpc", "serve", name));
        string? line = await server.StandardOutput.ReadLineAsync(Rpc.Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Rpc.Ct);
        Assert.StartsWith($"npipes rpc: serving '{name}'", line);
        return (server, name);
    }

    [Fact]
    public async Task The_demo_targets_document_validates_against_the_OpenRPC_meta_schema_and_stubs_from_it_are_the_same_bytes_each_time()
    {
        var (server, name) = await ServeDemoAsync();
        using var scratch = new Tool.Scratch();
        try
        {
            Tool.Output described = await Tool.NpipesAsync("rpc", "describe", name, "--timeout", "20");
            Assert.True(described.Code == 0, described.ToString());
            JsonElement document = JsonDocument.Parse(described.Out).RootElement;
            Assert.Empty(OpenRpcChecks.Problems(document));
            string?[] methods = [.. document.GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("name").GetString())];
            Assert.Equal(["add", "echo", "fail", "sleep", "whoami"], methods); // docs/rpc.md §7's demo target, sorted by name
            Assert.Equal(methods.Order(StringComparer.Ordinal), methods);
            Assert.Equal(described.Out, (await Tool.NpipesAsync("rpc", "describe", name, "--timeout", "20")).Out);

            string file = scratch.File("demo.json");
            await File.WriteAllTextAsync(file, described.Out, Rpc.Ct);
            foreach (string lang in new[] { "python", "csharp" })
            {
                Tool.Output first = await Tool.NpipesAsync("rpc", "stubs", file, "--lang", lang);
                Assert.True(first.Code == 0, first.ToString());
                Assert.Contains("from demo.json: OpenRPC 1.3.2 \"RpcDemoTarget\" 0.2.0, sha256 ", first.Out);
                Tool.Output again = await Tool.NpipesAsync("rpc", "stubs", file, "--lang", lang, "--out", scratch.File("stubs." + lang));
                Assert.Equal(0, again.Code);
                Assert.Equal(first.Out, await File.ReadAllTextAsync(scratch.File("stubs." + lang), Rpc.Ct));
                // From the live server: the same code, only the header's source differs.
                Tool.Output live = await Tool.NpipesAsync("rpc", "stubs", name, "--lang", lang, "--timeout", "20");
                Assert.Equal(first.Out[first.Out.IndexOf(", sha256", StringComparison.Ordinal)..], live.Out[live.Out.IndexOf(", sha256", StringComparison.Ordinal)..]);
            }
            string csharp = (await Tool.NpipesAsync("rpc", "stubs", file, "--lang", "csharp")).Out;
            Assert.Contains("    [JsonRpcMethod(\"add\")]\n    Task<double> AddAsync(double a, double b, CancellationToken cancellationToken = default);\n", csharp);
            Assert.Contains("    [JsonRpcMethod(\"fail\")]\n    Task FailAsync(int code, string message, CancellationToken cancellationToken = default);\n", csharp);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            server.Dispose();
        }
    }

    [Fact]
    public async Task A_server_without_discovery_or_with_an_undescribable_target_is_a_remote_error_exit_4()
    {
        await using (RunningServer plain = Rpc.Serve<TestTarget>()) // the configure overload adds no rpc.discover
        {
            Tool.Output described = await Tool.NpipesAsync("rpc", "describe", plain.Name, "--crc", "--timeout", "20");
            Assert.Equal(4, described.Code);
            Assert.StartsWith("npipes rpc: error -32601: ", described.Err);
        }
        await using RunningServer unsupported = DiscoveryTests.ServeWithDiscovery(new DiscoveryTargets.Unsupported());
        Tool.Output stubs = await Tool.NpipesAsync("rpc", "stubs", unsupported.Name, "--crc", "--timeout", "20");
        Assert.Equal(4, stubs.Code);
        Assert.Equal("", stubs.Out);
        Assert.Contains("npipes rpc: error -32603: ", stubs.Err);
        Assert.Contains("Call(callback): Func<System.Int32> is not supported (a delegate)", stubs.Err);
    }

    [Theory]
    [InlineData("""{"openrpc":"1.3.2","info":{"title":"T","version":"1"},"methods":[{"name":"m","params":[{"name":"x","schema":{},"required":true}],"result":{"name":"result","schema":{"type":"null"}}}]}""", "m(x): a schema without \"type\"")]
    [InlineData("""{"openrpc":"1.3.2","info":{"title":"T","version":"1"},"methods":[{"name":"m","params":[],"result":{"name":"result","schema":{"$ref":"#/components/schemas/Gone"}}}]}""", "$ref Gone: not in components.schemas")]
    [InlineData("""{"openrpc":"1.3.2","info":{"title":"T","version":"1"},"methods":[{"name":"m","params":[{"name":"x","schema":{"type":"integer"},"required":false},{"name":"y","schema":{"type":"integer"},"required":true}]}]}""", "m(y): a required parameter after an optional one")]
    [InlineData("""{"openrpc":"1.3.2","info":{"title":"T","version":"1"},"methods":[{"name":"a-b","params":[]},{"name":"a_b","params":[]}]}""", "'a-b' and 'a_b' both become a_b")]
    public async Task A_document_the_generator_cannot_map_exits_4_naming_the_place(string document, string why)
    {
        using var scratch = new Tool.Scratch();
        string file = scratch.File("bad.json");
        await File.WriteAllTextAsync(file, document, Rpc.Ct);
        Tool.Output output = await Tool.NpipesAsync("rpc", "stubs", file, "--lang", "python");
        Assert.Equal(4, output.Code);
        Assert.Equal("", output.Out);
        Assert.Contains(why, output.Err);
    }
}
