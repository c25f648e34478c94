using System.Text.Json;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace NPipes.RpcTests;

/// <summary>docs/rpc.md §8.1: members travel in camelCase, and nothing is lost silently (-32602 naming the member).</summary>
public class NamingTests
{
    public sealed record Stats(int Count, double Mean);

    public sealed record Labelled(string Label, string? Note);

    public enum Shade { DarkRed, Blue }

    public sealed class StatsTarget
    {
        [JsonRpcMethod("describe")]
        public string Describe(Stats stats) => stats.ToString();

        [JsonRpcMethod("summarize")]
        public Stats Summarize(double[] values) => new(values.Length, values.Average());

        [JsonRpcMethod("label")]
        public string Label(Labelled labelled) => labelled.ToString();

        [JsonRpcMethod("broken")]
        public Labelled Broken() => new(null!, null);

        [JsonRpcMethod("shade")]
        public Shade Next(Shade shade) => shade == Shade.DarkRed ? Shade.Blue : Shade.DarkRed;
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static async Task<RemoteRpcException> InvalidParamsAsync(JsonRpc client, string method, string argument)
    {
        var e = await Assert.ThrowsAsync<RemoteMethodNotFoundException>(() => client.InvokeWithCancellationAsync<string>(method, [Json(argument)], Rpc.Ct).Bounded());
        Assert.Equal(JsonRpcErrorCode.InvalidParams, e.ErrorCode);
        return e;
    }

    [Fact]
    public async Task A_record_arrives_from_camelCase_members_and_leaves_in_camelCase()
    {
        await using RunningServer server = Rpc.Serve<StatsTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Assert.Equal("Stats { Count = 3, Mean = 2.5 }", await client.InvokeWithCancellationAsync<string>("describe", [Json("""{"count": 3, "mean": 2.5}""")], Rpc.Ct).Bounded());
        JsonElement summary = await client.InvokeWithCancellationAsync<JsonElement>("summarize", [new[] { 1.0, 2.0, 4.5 }], Rpc.Ct).Bounded();
        Assert.Equal("""{"count":3,"mean":2.5}""", summary.GetRawText());
        Assert.Equal("\"blue\"", (await client.InvokeWithCancellationAsync<JsonElement>("shade", ["darkRed"], Rpc.Ct).Bounded()).GetRawText());
    }

    [Fact]
    public async Task An_unknown_member_is_invalid_params_naming_it()
    {
        await using RunningServer server = Rpc.Serve<StatsTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Assert.Contains("'extra'", (await InvalidParamsAsync(client, "describe", """{"count": 3, "mean": 2.5, "extra": 1}""")).Message);
        // PascalCase is not the wire name: the members are unknown, never read as defaults.
        Assert.Contains("'Count'", (await InvalidParamsAsync(client, "describe", """{"Count": 3, "Mean": 2.5}""")).Message);
    }

    [Fact]
    public async Task A_missing_required_member_is_invalid_params_naming_it()
    {
        await using RunningServer server = Rpc.Serve<StatsTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Assert.Contains("'mean'", (await InvalidParamsAsync(client, "describe", """{"count": 3}""")).Message);
        Assert.Contains("'note'", (await InvalidParamsAsync(client, "label", """{"label": "x"}""")).Message);
        Assert.Equal("Labelled { Label = x, Note =  }", await client.InvokeWithCancellationAsync<string>("label", [Json("""{"label": "x", "note": null}""")], Rpc.Ct).Bounded());
    }

    [Fact]
    public async Task Null_for_a_non_nullable_member_or_a_number_for_an_enum_is_invalid_params()
    {
        await using RunningServer server = Rpc.Serve<StatsTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Assert.Contains("label", (await InvalidParamsAsync(client, "label", """{"label": null, "note": null}""")).Message);
        await InvalidParamsAsync(client, "shade", "1");
    }

    [Fact]
    public async Task A_result_with_null_for_a_non_nullable_member_is_an_error_not_sent()
    {
        await using RunningServer server = Rpc.Serve<StatsTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        var e = await Assert.ThrowsAnyAsync<RemoteRpcException>(() => client.InvokeWithCancellationAsync<JsonElement>("broken", [], Rpc.Ct).Bounded());
        Assert.Equal(-32003, (int)e.ErrorCode!);
        Assert.Equal("""{"count":1,"mean":1}""", (await client.InvokeWithCancellationAsync<JsonElement>("summarize", [new[] { 1.0 }], Rpc.Ct).Bounded()).GetRawText());
    }
}
