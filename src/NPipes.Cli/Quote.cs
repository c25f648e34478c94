using System.Globalization;
using System.Text;

namespace NPipes.Cli;

/// <summary>
/// User text (a pipe name, a method, a word from the command line) as it appears in the CLI's messages: quoted and
/// escaped as Python's <c>repr</c> does, so a message stays one line and no escape sequence reaches the terminal; the
/// Python CLI prints names with <c>{name!r}</c>, so both CLIs print the same. See src/NPipes.Cli/README.md.
/// </summary>
internal static class Quote
{
    /// <summary><paramref name="text"/> in quotes ('...', or "..." when it holds ' but no "), with \\, \n, \r, \t, other control and non-printable characters escaped.</summary>
    public static string Text(string text)
    {
        char quote = text.Contains('\'', StringComparison.Ordinal) && !text.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var s = new StringBuilder(text.Length + 2).Append(quote);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == quote || c == '\\')
            {
                s.Append('\\').Append(c);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                s.Append(c).Append(text[++i]); // a pair: printable as Python sees it (escaping it would need the code point)
            }
            else
            {
                AppendChar(s, c);
            }
        }
        return s.Append(quote).ToString();
    }

    /// <summary>A whole message line: control and non-printable characters escaped (no quotes added), so it is one line.</summary>
    public static string Line(string line)
    {
        foreach (char c in line)
        {
            if (!Printable(c))
            {
                var s = new StringBuilder(line.Length + 8);
                foreach (char d in line)
                {
                    AppendChar(s, d);
                }
                return s.ToString();
            }
        }
        return line;
    }

    private static void AppendChar(StringBuilder s, char c)
    {
        switch (c)
        {
            case '\n': s.Append("\\n"); break;
            case '\r': s.Append("\\r"); break;
            case '\t': s.Append("\\t"); break;
            default:
                if (Printable(c))
                {
                    s.Append(c);
                }
                else if (c <= 0xff)
                {
                    s.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                }
                else
                {
                    s.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                }
                break;
        }
    }

    /// <summary>Python's str.isprintable for one UTF-16 unit: not a control, format, surrogate, private-use, unassigned or separator character other than ' '.</summary>
    private static bool Printable(char c) => c == ' ' || char.GetUnicodeCategory(c) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.SpaceSeparator => false,
        _ => true,
    };
}
