using System.Text.Json;

namespace NPipes.RpcTests;

/// <summary>
/// The checks of the OpenRPC 1.3 meta-schema (open-rpc/spec spec/1.3/schema.json) a document of docs/rpc.md §8.3 can
/// fail, written with System.Text.Json (no validator dependency): required members, member types, no unknown members
/// (except <c>x-</c>), the enums, unique method names, and every <c>$ref</c> resolving in <c>components.schemas</c>.
/// </summary>
internal static class OpenRpcChecks
{
    private static readonly string[] Versions = ["1.3.2", "1.3.1", "1.3.0", "1.2.6", "1.2.5", "1.2.4", "1.2.3", "1.2.2", "1.2.1", "1.2.0", "1.1.12", "1.1.11", "1.1.10", "1.1.9", "1.1.8", "1.1.7", "1.1.6", "1.1.5", "1.1.4", "1.1.3", "1.1.2", "1.1.1", "1.1.0", "1.0.0", "1.0.0-rc0", "1.0.0-rc1"];

    /// <summary>Every way <paramref name="document"/> breaks the meta-schema; empty if it is valid.</summary>
    public static List<string> Problems(JsonElement document)
    {
        var problems = new List<string>();
        if (!Object(document, "document", ["openrpc", "info", "methods", "externalDocs", "servers", "components", "$schema"], ["openrpc", "info", "methods"], problems))
        {
            return problems;
        }
        if (document.GetProperty("openrpc") is not { ValueKind: JsonValueKind.String } version || !Versions.Contains(version.GetString()))
        {
            problems.Add("openrpc: not one of the meta-schema's versions");
        }
        JsonElement info = document.GetProperty("info");
        if (Object(info, "info", ["title", "description", "termsOfService", "version", "contact", "license"], ["title", "version"], problems))
        {
            String(info, "title", "info", problems);
            String(info, "version", "info", problems);
        }
        var schemas = new HashSet<string>();
        if (document.TryGetProperty("components", out JsonElement components) && Object(components, "components", ["schemas", "links", "errors", "examples", "examplePairings", "contentDescriptors", "tags"], [], problems)
            && components.TryGetProperty("schemas", out JsonElement componentSchemas))
        {
            if (componentSchemas.ValueKind != JsonValueKind.Object)
            {
                problems.Add("components.schemas: not an object");
            }
            else
            {
                foreach (JsonProperty schema in componentSchemas.EnumerateObject())
                {
                    schemas.Add(schema.Name);
                    Schema(schema.Value, "components.schemas." + schema.Name, problems);
                }
            }
        }
        if (document.GetProperty("methods") is not { ValueKind: JsonValueKind.Array } methods)
        {
            problems.Add("methods: not an array");
            return problems;
        }
        var names = new HashSet<string>();
        foreach (JsonElement method in methods.EnumerateArray())
        {
            Method(method, names, problems);
        }
        References(document, "", schemas, problems);
        return problems;
    }

    private static void Method(JsonElement method, HashSet<string> names, List<string> problems)
    {
        if (!Object(method, "method", ["name", "description", "summary", "servers", "tags", "paramStructure", "params", "result", "errors", "links", "examples", "deprecated", "externalDocs"], ["name", "params"], problems))
        {
            return;
        }
        string where = "method " + method.GetProperty("name");
        if (String(method, "name", where, problems) && !names.Add(method.GetProperty("name").GetString()!))
        {
            problems.Add(where + ": name not unique");
        }
        if (method.TryGetProperty("paramStructure", out JsonElement structure) && structure.GetString() is not ("by-position" or "by-name" or "either"))
        {
            problems.Add(where + ": paramStructure not by-position, by-name or either");
        }
        if (method.GetProperty("params") is not { ValueKind: JsonValueKind.Array } parameters)
        {
            problems.Add(where + ": params not an array");
        }
        else
        {
            foreach (JsonElement parameter in parameters.EnumerateArray())
            {
                ContentDescriptor(parameter, where + " param", problems);
            }
        }
        if (method.TryGetProperty("result", out JsonElement result))
        {
            ContentDescriptor(result, where + " result", problems);
        }
        if (method.TryGetProperty("errors", out JsonElement errors))
        {
            foreach (JsonElement error in errors.ValueKind == JsonValueKind.Array ? errors.EnumerateArray() : [])
            {
                if (Object(error, where + " error", ["code", "message", "data"], ["code", "message"], problems))
                {
                    if (!error.GetProperty("code").TryGetInt32(out _))
                    {
                        problems.Add(where + " error: code not an integer");
                    }
                    String(error, "message", where + " error", problems);
                }
            }
        }
    }

    private static void ContentDescriptor(JsonElement descriptor, string where, List<string> problems)
    {
        if (!Object(descriptor, where, ["name", "description", "summary", "schema", "required", "deprecated"], ["name", "schema"], problems))
        {
            return;
        }
        String(descriptor, "name", where, problems);
        Schema(descriptor.GetProperty("schema"), where + " schema", problems);
        if (descriptor.TryGetProperty("required", out JsonElement required) && required.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            problems.Add(where + ": required not a boolean");
        }
    }

    /// <summary>JSON Schema (draft 7 in the meta-schema): an object or a boolean; <c>type</c> a simple type name or an array of them.</summary>
    private static void Schema(JsonElement schema, string where, List<string> problems)
    {
        if (schema.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return;
        }
        if (schema.ValueKind != JsonValueKind.Object)
        {
            problems.Add(where + ": a schema is an object or a boolean");
            return;
        }
        string[] simple = ["array", "boolean", "integer", "null", "number", "object", "string"];
        if (schema.TryGetProperty("type", out JsonElement type)
            && !(type.ValueKind == JsonValueKind.String && simple.Contains(type.GetString())
                 || type.ValueKind == JsonValueKind.Array && type.EnumerateArray().All(t => simple.Contains(t.GetString()))))
        {
            problems.Add(where + ": type not a simple type or array of them");
        }
        if (schema.TryGetProperty("required", out JsonElement required) && (required.ValueKind != JsonValueKind.Array || required.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String)))
        {
            problems.Add(where + ": required not an array of strings");
        }
    }

    private static void References(JsonElement node, string where, HashSet<string> schemas, List<string> problems)
    {
        if (node.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty member in node.EnumerateObject())
            {
                if (member.Name == "$ref" && !(member.Value.GetString() is { } target && target.StartsWith("#/components/schemas/", StringComparison.Ordinal) && schemas.Contains(target["#/components/schemas/".Length..])))
                {
                    problems.Add(where + ": $ref " + member.Value + " does not resolve");
                }
                References(member.Value, where + "/" + member.Name, schemas, problems);
            }
        }
        else if (node.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in node.EnumerateArray())
            {
                References(item, where + "/[]", schemas, problems);
            }
        }
    }

    private static bool Object(JsonElement element, string where, string[] allowed, string[] required, List<string> problems)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add(where + ": not an object");
            return false;
        }
        foreach (JsonProperty member in element.EnumerateObject())
        {
            if (!allowed.Contains(member.Name) && !member.Name.StartsWith("x-", StringComparison.Ordinal))
            {
                problems.Add($"{where}: unknown member {member.Name}");
            }
        }
        string[] missing = [.. required.Where(r => !element.TryGetProperty(r, out _))];
        foreach (string member in missing)
        {
            problems.Add($"{where}: missing {member}");
        }
        return missing.Length == 0;
    }

    private static bool String(JsonElement element, string member, string where, List<string> problems)
    {
        if (element.GetProperty(member).ValueKind == JsonValueKind.String)
        {
            return true;
        }
        problems.Add($"{where}: {member} not a string");
        return false;
    }
}
