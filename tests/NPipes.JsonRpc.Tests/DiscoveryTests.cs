using System.Text.Json;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;
using static NPipes.RpcTests.DiscoveryTargets;

namespace NPipes.RpcTests;

/// <summary>docs/rpc.md §8.2-8.4: rpc.discover answers the target's OpenRPC document; unsupported types are reported, never mistyped.</summary>
public class DiscoveryTests
{
    /// <summary>A server whose connections serve <paramref name="target"/> (added with <paramref name="options"/>) and its rpc.discover.</summary>
    internal static RunningServer ServeWithDiscovery(object target, JsonRpcTargetOptions? options = null) => Rpc.Serve((rpc, _) =>
    {
        rpc.AddLocalRpcTarget(target, options);
        rpc.AddRpcDiscover(target.GetType(), options);
    });

    private static JsonElement Method(JsonElement document, string name) =>
        document.GetProperty("methods").EnumerateArray().Single(m => m.GetProperty("name").GetString() == name);

    private static string Schema(JsonElement method, int parameter) =>
        method.GetProperty("params")[parameter].GetProperty("schema").GetRawText();

    [Fact]
    public void The_document_lists_each_method_under_its_served_name_with_parameter_and_result_schemas()
    {
        JsonElement document = OpenRpcDocument.Describe(typeof(Statistics));
        Assert.Empty(OpenRpcChecks.Problems(document));
        Assert.Equal("1.3.2", document.GetProperty("openrpc").GetString());
        Assert.Equal("Statistics", document.GetProperty("info").GetProperty("title").GetString());
        // Sorted; PageAsync/ResetAsync under their aliases; [JsonRpcMethod] names as given.
        Assert.Equal(["Find", "Page", "Reset", "summarize"], document.GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("name").GetString()));

        JsonElement summarize = Method(document, "summarize");
        Assert.Equal("either", summarize.GetProperty("paramStructure").GetString());
        Assert.Equal("""{"name":"values","schema":{"type":"array","items":{"type":"number"}},"required":true}""", summarize.GetProperty("params")[0].GetRawText());
        Assert.Equal("""{"name":"label","schema":{"type":["string","null"]},"required":false}""", summarize.GetProperty("params")[1].GetRawText());
        Assert.Equal("""{"name":"result","schema":{"$ref":"#/components/schemas/Stats"}}""", summarize.GetProperty("result").GetRawText());
        Assert.Equal([-32602, -32603, -32000, -32800], summarize.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("code").GetInt32()));

        JsonElement page = Method(document, "Page");
        Assert.Equal(["start", "limits"], page.GetProperty("params").EnumerateArray().Select(p => p.GetProperty("name").GetString())); // no CancellationToken
        Assert.Equal("""{"type":"object","additionalProperties":{"type":"integer"}}""", Schema(page, 1));
        JsonElement reset = Method(document, "Reset");
        Assert.Equal("""{"type":"string","enum":["darkRed","blue"]}""", Schema(reset, 0));
        Assert.Equal("""{"type":"string","contentEncoding":"base64"}""", Schema(reset, 1));
        Assert.Equal("""{"type":"null"}""", reset.GetProperty("result").GetProperty("schema").GetRawText());
        Assert.Equal("""{"anyOf":[{"$ref":"#/components/schemas/Stats"},{"type":"null"}]}""", Schema(Method(document, "Find"), 0));

        JsonElement schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.Equal(["PageOfStats", "Stats"], schemas.EnumerateObject().Select(s => s.Name));
        JsonElement stats = schemas.GetProperty("Stats");
        Assert.Equal("""{"count":{"type":"integer","format":"int32"},"mean":{"type":"number"},"label":{"type":["string","null"],"default":null}}""", stats.GetProperty("properties").GetRawText());
        Assert.Equal("""["count","mean"]""", stats.GetProperty("required").GetRawText());
        Assert.False(stats.GetProperty("additionalProperties").GetBoolean());
        Assert.Equal("""{"type":"array","items":{"$ref":"#/components/schemas/Stats"}}""", schemas.GetProperty("PageOfStats").GetProperty("properties").GetProperty("items").GetRawText());
    }

    [Fact]
    public void The_method_name_transform_the_target_is_served_with_names_the_methods()
    {
        var options = new JsonRpcTargetOptions { MethodNameTransform = CommonMethodNameTransforms.CamelCase };
        JsonElement document = OpenRpcDocument.Describe(typeof(Statistics), options);
        Assert.Equal(["find", "page", "reset", "summarize"], document.GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
    }

    [Fact]
    public void Unsupported_types_are_reported_when_the_document_is_built_each_by_method_and_parameter()
    {
        var e = Assert.Throws<NotSupportedException>(() => OpenRpcDocument.Describe(typeof(Unsupported)));
        foreach (string place in new[] { "Any(value): System.Object", "Raw(value): System.Text.Json.JsonElement", "Call(callback): Func<System.Int32> is not supported (a delegate)", "Read(stream): System.IO.Stream", "Over: 2 overloads", "Tree(node)", "is recursive", "Loose(bag): Dictionary<System.String, System.Object>" })
        {
            Assert.Contains(place, e.Message);
        }
        Assert.DoesNotContain("Fine", e.Message);
        // Built once: the same failure again, not a different or partial document.
        Assert.Equal(e.Message, Assert.Throws<NotSupportedException>(() => OpenRpcDocument.Describe(typeof(Unsupported))).Message);
    }

    [Fact]
    public async Task A_served_target_answers_rpc_discover_with_its_document()
    {
        string name = Rpc.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Rpc.Options() });
        Task serving = server.ServeJsonRpcAsync(_ => new Statistics(), Rpc.Ct); // on by default for the target overload
        using (JsonRpc client = await Rpc.ConnectAsync(name))
        {
            JsonElement served = await client.InvokeWithCancellationAsync<JsonElement>("rpc.discover", [], Rpc.Ct).Bounded();
            Assert.Equal(OpenRpcDocument.Describe(typeof(Statistics)).GetRawText(), served.GetRawText());
            Assert.Equal("""{"count":2,"mean":3,"label":"x"}""", (await client.InvokeWithCancellationAsync<JsonElement>("summarize", [new[] { 2.0, 4.0 }, "x"], Rpc.Ct).Bounded()).GetRawText());
        }
        await server.DisposeAsync();
        await serving.Bounded();
    }

    [Fact]
    public async Task A_target_that_cannot_be_described_answers_rpc_discover_with_internal_error_and_serves_its_methods()
    {
        await using RunningServer server = ServeWithDiscovery(new Unsupported());
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        var e = await Assert.ThrowsAsync<RemoteInvocationException>(() => client.InvokeWithCancellationAsync<JsonElement>("rpc.discover", [], Rpc.Ct).Bounded());
        Assert.Equal((int)JsonRpcErrorCode.InternalError, e.ErrorCode);
        Assert.Contains("Any(value): System.Object is not supported", e.Message);
        Assert.Equal(5, await client.InvokeWithCancellationAsync<int>("Fine", [5], Rpc.Ct).Bounded());
    }

    public sealed class OwnDiscover
    {
        [JsonRpcMethod("rpc.discover")]
        public string Discover() => "mine";
    }

    [Fact]
    public async Task A_target_with_its_own_rpc_discover_keeps_it()
    {
        await using RunningServer server = ServeWithDiscovery(new OwnDiscover());
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Assert.Equal("mine", await client.InvokeWithCancellationAsync<string>("rpc.discover", [], Rpc.Ct).Bounded());
    }

    [Fact]
    public void The_meta_schema_checks_find_what_breaks_a_document()
    {
        JsonElement broken = JsonDocument.Parse("""
            {"openrpc":"9.9","info":{"title":"t"},"methods":[{"name":"a","params":[{"name":"x","schema":{"type":"int"},"required":"yes"}],
             "result":{"name":"result","schema":{"$ref":"#/components/schemas/Nope"}},"errors":[{"code":1.5,"message":"m"}],"oops":1},
             {"name":"a","params":[]}],"components":{"schemas":{}}}
            """).RootElement;
        List<string> problems = OpenRpcChecks.Problems(broken);
        foreach (string problem in new[] { "openrpc: not one of", "info: missing version", "type not a simple type", "required not a boolean", "$ref #/components/schemas/Nope does not resolve", "code not an integer", "unknown member oops", "name not unique" })
        {
            Assert.Contains(problems, p => p.Contains(problem, StringComparison.Ordinal));
        }
    }
}
