using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization.Metadata;

namespace NPipes;

/// <summary>
/// JSON Schemas of parameter and result types, from System.Text.Json's own <see cref="JsonSchemaExporter"/> (so they say
/// what the serializer does with the caller's options), reshaped as docs/rpc.md §8.3 specifies: every object type in
/// <c>components.schemas</c> under its name, referenced by <c>$ref</c>. Types that cannot be described are collected as
/// problems, never given a looser schema.
/// </summary>
internal sealed class SchemaComponents(JsonSerializerOptions options, List<string> problems)
{
    private const string RefPrefix = "#/components/schemas/";

    /// <summary>Types a schema would say nothing about: any JSON at all.</summary>
    private static readonly HashSet<Type> Untyped = [typeof(object), typeof(JsonElement), typeof(JsonDocument), typeof(JsonNode), typeof(JsonObject), typeof(JsonArray), typeof(JsonValue)];

    private readonly SortedDictionary<string, (Type Type, JsonObject Schema)> _components = new(StringComparer.Ordinal);

    /// <summary>The schema of <paramref name="type"/> where <paramref name="where"/> (for problems) uses it; <paramref name="nullable"/> adds <c>null</c>.</summary>
    public JsonNode Of(Type type, bool nullable, string where)
    {
        if (Unsupported(type) is { } why)
        {
            problems.Add($"{where}: {Name(type)} is not supported ({why})");
            return new JsonObject();
        }
        JsonNode schema;
        try
        {
            var exporter = new JsonSchemaExporterOptions
            {
                TreatNullObliviousAsNonNullable = true,
                TransformSchemaNode = (context, node) => Transform(context, node, where),
            };
            schema = options.GetJsonSchemaAsNode(type, exporter);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            problems.Add($"{where}: {Name(type)} is not supported ({e.Message})");
            return new JsonObject();
        }
        if (AnyJson(schema))
        {
            problems.Add($"{where}: {Name(type)} holds a value of any JSON type (object, JsonElement, ...): give it a type");
        }
        return nullable ? OrNull(schema) : schema;
    }

    /// <summary>True if a schema, or one it contains (members, items, values, alternatives), allows any JSON value.</summary>
    private static bool AnyJson(JsonNode? schema) => schema switch
    {
        JsonValue value => value.GetValueKind() == JsonValueKind.True,
        JsonObject { Count: 0 } => true,
        JsonObject o => (o["properties"] as JsonObject)?.Any(p => AnyJson(p.Value)) == true
            || o.ContainsKey("items") && AnyJson(o["items"])
            || o["additionalProperties"] is JsonNode values && values.GetValueKind() != JsonValueKind.False && AnyJson(values)
            || (o["anyOf"] as JsonArray)?.Any(AnyJson) == true,
        _ => false,
    };

    /// <summary>The <c>components.schemas</c> object, keys sorted.</summary>
    public JsonObject ToJson()
    {
        var schemas = new JsonObject();
        foreach ((string name, (Type _, JsonObject schema)) in _components)
        {
            schemas[name] = schema.DeepClone();
        }
        return schemas;
    }

    private JsonNode Transform(JsonSchemaExporterContext context, JsonNode node, string where)
    {
        Type type = context.TypeInfo.Type;
        if (node is JsonObject leftover && leftover["$ref"] is JsonValue reference && !reference.GetValue<string>().StartsWith(RefPrefix, StringComparison.Ordinal))
        {
            problems.Add($"{where}: {Name(type)} is recursive (not supported)");
            return node;
        }
        if (Untyped.Contains(type) || context.TypeInfo.Kind == JsonTypeInfoKind.None && Unsupported(type) is not null)
        {
            problems.Add($"{where}: {Name(type)} is not supported ({Unsupported(type) ?? "any JSON value: give it a type"})");
            return node;
        }
        if (node is not JsonObject schema)
        {
            return node;
        }
        if (context.TypeInfo.Kind == JsonTypeInfoKind.Dictionary && !schema.ContainsKey("additionalProperties")
            || context.TypeInfo.Kind == JsonTypeInfoKind.Enumerable && !schema.ContainsKey("items") && type != typeof(byte[]))
        {
            // The exporter leaves out the schema of values of any JSON type (object, JsonElement, ...).
            problems.Add($"{where}: {Name(type)} holds values of any JSON type: give them a type");
        }
        else if (type == typeof(byte[]))
        {
            schema["contentEncoding"] = "base64";
        }
        else if (type.IsEnum || Nullable.GetUnderlyingType(type) is { IsEnum: true })
        {
            schema.Remove("type");
            JsonNode? values = schema["enum"];
            schema.Remove("enum");
            schema["type"] = type.IsEnum ? "string" : new JsonArray("string", "null");
            schema["enum"] = values;
        }
        else if (type == typeof(int) || type == typeof(short) || type == typeof(ushort) || type == typeof(byte) || type == typeof(sbyte))
        {
            schema["format"] = "int32";
        }
        return context.TypeInfo.Kind == JsonTypeInfoKind.Object && context.TypeInfo.Properties.Count > 0 ? Component(type, schema, where) : schema;
    }

    /// <summary>Moves an object schema into the components and returns its reference (nullable: or null).</summary>
    private JsonNode Component(Type type, JsonObject schema, string where)
    {
        bool nullable = false;
        if (schema["type"] is JsonArray types)
        {
            nullable = types.Any(t => t?.GetValue<string>() == "null");
            schema["type"] = "object";
        }
        string name = ComponentName(type);
        if (_components.TryGetValue(name, out var existing))
        {
            if (existing.Type != type)
            {
                problems.Add($"{where}: two types are named {name} ({existing.Type.FullName} and {type.FullName}); rename one");
            }
        }
        else
        {
            _components[name] = (type, (JsonObject)schema.DeepClone());
            if (AnyJson(schema))
            {
                problems.Add($"{where}: {Name(type)} has a member of any JSON type (object, JsonElement, ...): give it a type");
            }
        }
        JsonNode reference = new JsonObject { ["$ref"] = RefPrefix + name };
        return nullable ? OrNull(reference) : reference;
    }

    private static JsonNode OrNull(JsonNode schema)
    {
        if (schema is JsonObject { Count: > 0 } o && !o.ContainsKey("$ref") && !o.ContainsKey("anyOf") && o["type"] is JsonValue single)
        {
            JsonObject copy = (JsonObject)o.DeepClone();
            copy["type"] = new JsonArray(single.GetValue<string>(), "null");
            return copy;
        }
        if (schema is JsonObject { } withType && withType["type"] is JsonArray array && array.Any(t => t?.GetValue<string>() == "null"))
        {
            return schema;
        }
        return new JsonObject { ["anyOf"] = new JsonArray(schema.DeepClone(), new JsonObject { ["type"] = "null" }) };
    }

    /// <summary>Why <paramref name="type"/> cannot be a parameter or result, or null if it may be.</summary>
    internal static string? Unsupported(Type type)
    {
        if (type.IsPointer || type.IsFunctionPointer)
        {
            return "a pointer";
        }
        if (type.IsByRef)
        {
            return "a ref/out parameter";
        }
        if (typeof(Delegate).IsAssignableFrom(type))
        {
            return "a delegate";
        }
        if (type.ContainsGenericParameters)
        {
            return "an open generic type";
        }
        if (Untyped.Contains(type))
        {
            return "any JSON value: give it a type";
        }
        if (typeof(Stream).IsAssignableFrom(type) || type.Namespace == "System.IO.Pipelines")
        {
            return "a stream";
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() is { } definition && (definition == typeof(IAsyncEnumerable<>) || definition == typeof(IProgress<>)))
        {
            return definition == typeof(IProgress<>) ? "progress is a side channel" : "an async stream";
        }
        if (type.IsInterface && type.GetCustomAttribute<StreamJsonRpc.RpcMarshalableAttribute>() is not null)
        {
            return "a marshaled object";
        }
        return null;
    }

    private static string ComponentName(Type type) =>
        !type.IsGenericType ? type.Name : type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)] + "Of" + string.Join("And", type.GetGenericArguments().Select(ComponentName));

    /// <summary>A type as C# writes it, for messages.</summary>
    internal static string Name(Type type) =>
        Nullable.GetUnderlyingType(type) is { } inner ? Name(inner) + "?"
        : type.IsArray ? Name(type.GetElementType()!) + "[]"
        : type.IsGenericType ? type.Name[..Math.Max(0, type.Name.IndexOf('`', StringComparison.Ordinal))] + "<" + string.Join(", ", type.GetGenericArguments().Select(Name)) + ">"
        : type.FullName ?? type.Name;
}
