using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using StreamJsonRpc;

namespace NPipes;

/// <summary>
/// The OpenRPC document (docs/rpc.md §8.3) of a JSON-RPC target type: what <c>rpc.discover</c> answers. Built once per
/// target type, serializer options and name transforms, then cached, so serving it costs nothing per call.
/// </summary>
public static class OpenRpcDocument
{
    /// <summary>The OpenRPC service discovery method, <c>rpc.discover</c>.</summary>
    public const string DiscoverMethodName = "rpc.discover";

    /// <summary>The OpenRPC version the documents follow.</summary>
    public const string OpenRpcVersion = "1.3.2";

    private static readonly ConditionalWeakTable<JsonSerializerOptions, ConcurrentDictionary<Key, Lazy<JsonElement>>> Cache = new();

    private readonly record struct Key(Type Type, MethodInfo? MethodTransform, object? MethodState, MethodInfo? ParameterTransform, object? ParameterState, bool NonPublic);

    /// <summary>
    /// The OpenRPC document of <paramref name="targetType"/> as <see cref="JsonRpc.AddLocalRpcTarget(object, JsonRpcTargetOptions?)"/>
    /// serves it with <paramref name="targetOptions"/>, its schemas as <paramref name="serializerOptions"/> (the formatter's
    /// <see cref="SystemTextJsonFormatter.JsonSerializerOptions"/>; default <see cref="JsonRpcConventions.CreateSerializerOptions"/>) writes them.
    /// </summary>
    /// <param name="targetType">The target's type (a class, or an interface it serves).</param>
    /// <param name="targetOptions">The options the target is added with (method and parameter name transforms, non-public methods).</param>
    /// <param name="serializerOptions">The serializer options of the connection's formatter (they are made read-only).</param>
    /// <returns>The document, an immutable JSON value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="targetType"/> is null.</exception>
    /// <exception cref="NotSupportedException">A method cannot be described (an untyped, pointer, delegate, open generic or stream parameter or result, a recursive type, overloads under one name); the message lists every such place.</exception>
    public static JsonElement Describe(Type targetType, JsonRpcTargetOptions? targetOptions = null, JsonSerializerOptions? serializerOptions = null)
    {
        ArgumentNullException.ThrowIfNull(targetType);
        JsonSerializerOptions options = serializerOptions ?? JsonRpcConventions.Default;
        var key = new Key(targetType, targetOptions?.MethodNameTransform?.Method, targetOptions?.MethodNameTransform?.Target, targetOptions?.ParameterNameTransform?.Method, targetOptions?.ParameterNameTransform?.Target, targetOptions?.AllowNonPublicInvocation == true);
        Lazy<JsonElement> document = Cache.GetOrCreateValue(options).GetOrAdd(key, _ => new Lazy<JsonElement>(() => Build(targetType, targetOptions, options)));
        return document.Value;
    }

    private static JsonElement Build(Type targetType, JsonRpcTargetOptions? targetOptions, JsonSerializerOptions options)
    {
        options.MakeReadOnly(populateMissingResolver: true); // as the first serialization would
        var problems = new List<string>();
        var components = new SchemaComponents(options, problems);
        var methods = new JsonArray();
        foreach ((string name, MethodInfo method) in TargetMethods.Of(targetType, targetOptions, problems))
        {
            methods.Add(Method(name, method, targetOptions?.ParameterNameTransform, components));
        }
        if (problems.Count > 0)
        {
            throw new NotSupportedException($"{targetType.FullName} cannot be described for {DiscoverMethodName}: " + string.Join("; ", problems));
        }
        var document = new JsonObject
        {
            ["openrpc"] = OpenRpcVersion,
            ["info"] = new JsonObject { ["title"] = targetType.Name, ["version"] = Version(targetType) },
            ["methods"] = methods,
            ["components"] = new JsonObject { ["schemas"] = components.ToJson() },
        };
        return JsonSerializer.SerializeToElement(document, JsonNodeContext.Default.JsonObject);
    }

    private static JsonObject Method(string name, MethodInfo method, Func<string, string>? parameterNameTransform, SchemaComponents components)
    {
        var nullability = new NullabilityInfoContext();
        var parameters = new JsonArray();
        foreach (ParameterInfo parameter in method.GetParameters())
        {
            if (parameter.ParameterType == typeof(CancellationToken))
            {
                continue;
            }
            string parameterName = parameter.Name ?? "arg" + parameter.Position;
            parameterName = parameterNameTransform?.Invoke(parameterName) ?? parameterName;
            bool nullable = !parameter.ParameterType.IsValueType && nullability.Create(parameter).ReadState == NullabilityState.Nullable;
            parameters.Add(new JsonObject
            {
                ["name"] = parameterName,
                ["schema"] = components.Of(parameter.ParameterType, nullable, $"{name}({parameterName})"),
                ["required"] = !parameter.IsOptional,
            });
        }
        return new JsonObject
        {
            ["name"] = name,
            ["paramStructure"] = "either",
            ["params"] = parameters,
            ["result"] = new JsonObject { ["name"] = "result", ["schema"] = Result(name, method, nullability, components) },
            ["errors"] = Errors(),
        };
    }

    private static JsonNode Result(string name, MethodInfo method, NullabilityInfoContext nullability, SchemaComponents components)
    {
        Type type = method.ReturnType;
        NullabilityInfo info = nullability.Create(method.ReturnParameter);
        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Task<>) || type.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            info = info.GenericTypeArguments[0];
            type = type.GetGenericArguments()[0];
        }
        if (type == typeof(void) || type == typeof(Task) || type == typeof(ValueTask))
        {
            return new JsonObject { ["type"] = "null" };
        }
        return components.Of(type, !type.IsValueType && info.ReadState == NullabilityState.Nullable, $"{name}() result");
    }

    /// <summary>The codes of docs/rpc.md §5 any method may answer: always these four, in this order, with these messages.</summary>
    private static JsonArray Errors() =>
    [
        new JsonObject { ["code"] = -32602, ["message"] = "Invalid params" },
        new JsonObject { ["code"] = -32603, ["message"] = "Internal error" },
        new JsonObject { ["code"] = -32000, ["message"] = "Invocation error" },
        new JsonObject { ["code"] = -32800, ["message"] = "Request cancelled" },
    ];

    private static string Version(Type type) => type.Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{Math.Max(0, v.Build)}" : "0.0.0";
}

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonObject))]
internal sealed partial class JsonNodeContext : System.Text.Json.Serialization.JsonSerializerContext;
