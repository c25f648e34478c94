using System.Text.Json;
using System.Text.Json.Serialization;
using StreamJsonRpc;

namespace NPipes;

/// <summary>
/// The wire conventions of docs/rpc.md section 8, which every <c>NPipes.JsonRpc</c> helper uses unless given another
/// formatter: members in camelCase, enums as camelCase names, and no silent loss (an unknown member, a missing required
/// one, or <see langword="null"/> for a non-nullable one fails the call with -32602 naming the member).
/// </summary>
public static class JsonRpcConventions
{
    /// <summary>
    /// New serializer options with the wire conventions: <see cref="JsonNamingPolicy.CamelCase"/> member names,
    /// <see cref="JsonUnmappedMemberHandling.Disallow"/>, <see cref="JsonSerializerOptions.RespectRequiredConstructorParameters"/>,
    /// <see cref="JsonSerializerOptions.RespectNullableAnnotations"/>, and a <see cref="JsonStringEnumConverter"/> with camelCase
    /// names that refuses numbers. Dictionary keys are left as they are. Add converters or a source-generated
    /// <see cref="JsonSerializerOptions.TypeInfoResolver"/> before first use.
    /// </summary>
    public static JsonSerializerOptions CreateSerializerOptions() => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    /// <summary>A new <see cref="SystemTextJsonFormatter"/> (UTF-8 JSON, as docs/rpc.md specifies) whose user data follows <see cref="CreateSerializerOptions"/>.</summary>
    public static SystemTextJsonFormatter CreateFormatter() => new() { JsonSerializerOptions = CreateSerializerOptions() };

    /// <summary>The options the default formatter's documents are described with (one instance, so descriptions are cached once).</summary>
    internal static JsonSerializerOptions Default { get; } = CreateDefault();

    private static JsonSerializerOptions CreateDefault()
    {
        JsonSerializerOptions options = CreateSerializerOptions();
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
