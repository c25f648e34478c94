using System.Text.Json;
using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>The schemas follow the serializer options the caller's formatter uses, source-generated ones included.</summary>
public partial class DiscoveryOptionsTests
{
    public sealed record Stats(int Count, double Mean, string? Label = null);

    public sealed class Small
    {
        [JsonRpcMethod("summarize")]
        public Stats Summarize(double[] values) => new(values.Length, values.Average());
    }

    [System.Text.Json.Serialization.JsonSerializable(typeof(Stats))]
    [System.Text.Json.Serialization.JsonSerializable(typeof(double[]))]
    private sealed partial class SmallContext : System.Text.Json.Serialization.JsonSerializerContext;

    private static string StatsProperties(JsonSerializerOptions options) =>
        string.Join(",", OpenRpcDocument.Describe(typeof(Small), serializerOptions: options).GetProperty("components").GetProperty("schemas").GetProperty("Stats").GetProperty("properties").EnumerateObject().Select(p => p.Name));

    [Fact]
    public void A_source_generated_context_or_other_naming_is_what_the_document_says()
    {
        JsonSerializerOptions generated = JsonRpcConventions.CreateSerializerOptions();
        generated.TypeInfoResolver = SmallContext.Default;
        Assert.Equal("count,mean,label", StatsProperties(generated));
        Assert.Equal("Count,Mean,Label", StatsProperties(new JsonSerializerOptions())); // StreamJsonRpc's own default: PascalCase
    }
}
