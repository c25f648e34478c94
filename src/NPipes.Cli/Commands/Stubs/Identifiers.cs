using System.Text;

namespace NPipes.Cli.Commands.Stubs;

/// <summary>Wire names made into identifiers of the generated languages, the same way every time.</summary>
internal static class Identifiers
{
    private static readonly HashSet<string> PythonKeywords =
    [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
        "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
        "pass", "raise", "return", "try", "while", "with", "yield", "self", "match", "case", "type",
    ];

    private static readonly HashSet<string> CSharpKeywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while",
    ];

    /// <summary>Letters, digits and underscores; never starting with a digit; never empty.</summary>
    private static string Word(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            text.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }
        return text.Length == 0 || char.IsAsciiDigit(text[0]) ? "_" + text : text.ToString();
    }

    /// <summary>A Python name for <paramref name="wire"/> (a keyword gets a trailing underscore).</summary>
    public static string Python(string wire)
    {
        string word = Word(wire);
        return PythonKeywords.Contains(word) ? word + "_" : word;
    }

    /// <summary>A C# parameter name for <paramref name="wire"/> (a keyword is written <c>@name</c>).</summary>
    public static string CSharpLocal(string wire)
    {
        string word = Word(wire);
        return CSharpKeywords.Contains(word) ? "@" + word : word;
    }

    /// <summary>A C# type or member name: <paramref name="wire"/> in PascalCase (<c>rpc.discover</c> is <c>RpcDiscover</c>).</summary>
    public static string CSharpPascal(string wire)
    {
        var text = new StringBuilder();
        bool upper = true;
        foreach (char c in wire)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                upper = true;
                continue;
            }
            text.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        return text.Length == 0 || char.IsAsciiDigit(text[0]) ? "_" + text : text.ToString();
    }

    /// <summary>Fails if two wire names became one identifier.</summary>
    /// <exception cref="ContractException">Two names collide.</exception>
    public static void Unique(IEnumerable<(string Wire, string Identifier)> names, string where)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string wire, string identifier) in names)
        {
            if (seen.TryGetValue(identifier, out string? other))
            {
                throw new ContractException($"{where}: '{other}' and '{wire}' both become {identifier}");
            }
            seen[identifier] = wire;
        }
    }

    /// <summary><paramref name="text"/> as a Python or C# string literal in double quotes.</summary>
    public static string Quoted(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (char c in text)
        {
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                _ when c < ' ' || c > '~' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return quoted.Append('"').ToString();
    }
}
