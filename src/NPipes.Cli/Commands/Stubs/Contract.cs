using System.Security.Cryptography;
using System.Text.Json;

namespace NPipes.Cli.Commands.Stubs;

/// <summary>A JSON Schema as the stub generators understand it (docs/rpc.md §8.4); anything else is refused, never guessed.</summary>
internal abstract record Shape
{
    /// <summary>A JSON type with no structure: integer, number, string, boolean or null.</summary>
    public sealed record Scalar(string Type, string? Format, bool Base64) : Shape;

    public sealed record ArrayOf(Shape Items) : Shape;

    public sealed record MapOf(Shape Values) : Shape;

    /// <summary>An object schema of <c>components.schemas</c>.</summary>
    public sealed record Ref(string Name) : Shape;

    public sealed record OrNull(Shape Inner) : Shape;

    public sealed record StringEnum(IReadOnlyList<string> Values) : Shape;

    private const string RefPrefix = "#/components/schemas/";

    /// <summary>Reads <paramref name="schema"/>; <paramref name="where"/> names it in the error.</summary>
    /// <exception cref="ContractException">A schema the generators do not map (docs/rpc.md §8.4).</exception>
    public static Shape Parse(JsonElement schema, string where)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw new ContractException($"{where}: the schema is not an object ({schema.GetRawText()}): any JSON value has no type to generate");
        }
        if (schema.TryGetProperty("$ref", out JsonElement reference))
        {
            string target = reference.GetString() ?? "";
            return target.StartsWith(RefPrefix, StringComparison.Ordinal) ? new Ref(target[RefPrefix.Length..])
                : throw new ContractException($"{where}: $ref {target} is not in #/components/schemas/");
        }
        if (schema.TryGetProperty("anyOf", out JsonElement anyOf))
        {
            JsonElement[] options = [.. anyOf.EnumerateArray()];
            JsonElement[] notNull = [.. options.Where(o => !IsNull(o))];
            return notNull.Length == 1 && options.Length == 2 ? new OrNull(Parse(notNull[0], where))
                : throw new ContractException($"{where}: anyOf other than [schema, null] is not supported");
        }
        if (!schema.TryGetProperty("type", out JsonElement type))
        {
            throw new ContractException($"{where}: a schema without \"type\" ({schema.GetRawText()}) is not supported");
        }
        if (type.ValueKind == JsonValueKind.Array)
        {
            string[] types = [.. type.EnumerateArray().Select(t => t.GetString() ?? "")];
            string[] notNull = [.. types.Where(t => t != "null")];
            return notNull.Length == 1 && types.Length == 2 ? new OrNull(Typed(notNull[0], schema, where))
                : throw new ContractException($"{where}: \"type\": [{string.Join(", ", types)}] is not supported (one type, or one and null)");
        }
        return Typed(type.GetString() ?? "", schema, where);
    }

    private static bool IsNull(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null";

    private static Shape Typed(string type, JsonElement schema, string where)
    {
        string? format = schema.TryGetProperty("format", out JsonElement f) ? f.GetString() : null;
        switch (type)
        {
            case "string" when schema.TryGetProperty("enum", out JsonElement values):
                return new StringEnum([.. values.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new ContractException($"{where}: a string enum holds {v.GetRawText()}"))]);
            case "integer" or "number" or "string" or "boolean" or "null":
                bool base64 = schema.TryGetProperty("contentEncoding", out JsonElement encoding) && encoding.GetString() == "base64";
                return new Scalar(type, format, base64);
            case "array" when schema.TryGetProperty("items", out JsonElement items):
                return new ArrayOf(Parse(items, where + " items"));
            case "object" when schema.TryGetProperty("additionalProperties", out JsonElement values) && values.ValueKind == JsonValueKind.Object && !schema.TryGetProperty("properties", out _):
                return new MapOf(Parse(values, where + " values"));
            default:
                throw new ContractException($"{where}: {schema.GetRawText()} is not supported (an object type belongs in components.schemas; arrays and maps need item schemas)");
        }
    }
}

/// <summary>A contract the generators cannot express; the message says where and why.</summary>
internal sealed class ContractException(string message) : Exception(message);

internal sealed record ContractField(string Name, Shape Type, bool Required);

internal sealed record ContractMethod(string Name, IReadOnlyList<ContractField> Params, Shape Result);

internal sealed record ContractObject(string Name, IReadOnlyList<ContractField> Members);

/// <summary>An OpenRPC document of docs/rpc.md §8.3 read for stub generation: methods and object types, sorted by name.</summary>
internal sealed record Contract(string Title, string Version, string OpenRpc, string Source, string Digest, IReadOnlyList<ContractMethod> Methods, IReadOnlyList<ContractObject> Objects)
{
    /// <summary>Reads <paramref name="document"/>; <paramref name="source"/> says where it came from (for the header).</summary>
    /// <exception cref="ContractException">Not a document of that shape, or a schema the generators do not map.</exception>
    public static Contract Read(JsonElement document, string source)
    {
        if (document.ValueKind != JsonValueKind.Object || !document.TryGetProperty("methods", out JsonElement methods) || methods.ValueKind != JsonValueKind.Array)
        {
            throw new ContractException("not an OpenRPC document: no \"methods\" array");
        }
        JsonElement info = document.TryGetProperty("info", out JsonElement i) ? i : default;
        string title = info.ValueKind == JsonValueKind.Object && info.TryGetProperty("title", out JsonElement t) ? t.GetString() ?? "Service" : "Service";
        string version = info.ValueKind == JsonValueKind.Object && info.TryGetProperty("version", out JsonElement v) ? v.GetString() ?? "" : "";
        string openrpc = document.TryGetProperty("openrpc", out JsonElement o) ? o.GetString() ?? "" : "";
        var objects = new List<ContractObject>();
        if (document.TryGetProperty("components", out JsonElement components) && components.TryGetProperty("schemas", out JsonElement schemas))
        {
            foreach (JsonProperty schema in schemas.EnumerateObject().OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                objects.Add(Object(schema.Name, schema.Value));
            }
        }
        var read = new List<ContractMethod>();
        foreach (JsonElement method in methods.EnumerateArray())
        {
            string name = method.GetProperty("name").GetString() ?? throw new ContractException("a method without a name");
            var parameters = new List<ContractField>();
            JsonElement[] declared = method.TryGetProperty("params", out JsonElement ps) && ps.ValueKind == JsonValueKind.Array ? [.. ps.EnumerateArray()] : [];
            foreach (JsonElement parameter in declared)
            {
                string parameterName = parameter.GetProperty("name").GetString() ?? "";
                bool required = parameter.TryGetProperty("required", out JsonElement r) && r.ValueKind == JsonValueKind.True;
                if (required && parameters.Count > 0 && !parameters[^1].Required)
                {
                    throw new ContractException($"{name}({parameterName}): a required parameter after an optional one");
                }
                parameters.Add(new ContractField(parameterName, Shape.Parse(parameter.GetProperty("schema"), $"{name}({parameterName})"), required));
            }
            Shape result = method.TryGetProperty("result", out JsonElement res) ? Shape.Parse(res.GetProperty("schema"), $"{name}() result") : new Shape.Scalar("null", null, false);
            read.Add(new ContractMethod(name, parameters, result));
        }
        read.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        string digest = Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(document)))[..16];
        return new Contract(title, version, openrpc, source, digest, read, objects);
    }

    private static ContractObject Object(string name, JsonElement schema)
    {
        if (!schema.TryGetProperty("properties", out JsonElement properties) || properties.ValueKind != JsonValueKind.Object)
        {
            throw new ContractException($"components.schemas.{name}: an object type needs \"properties\"");
        }
        HashSet<string> required = schema.TryGetProperty("required", out JsonElement r) ? [.. r.EnumerateArray().Select(x => x.GetString() ?? "")] : [];
        ContractField[] members = [.. properties.EnumerateObject().Select(p => new ContractField(p.Name, Shape.Parse(p.Value, $"{name}.{p.Name}"), required.Contains(p.Name)))];
        // Required members first (a dataclass or positional record needs its defaults last), each group in schema order.
        return new ContractObject(name, [.. members.Where(m => m.Required), .. members.Where(m => !m.Required)]);
    }
}
