using System.Globalization;
using System.Text;

namespace NPipes.Cli.Commands;

/// <summary>
/// One <c>receive --json</c> line, byte for byte what the Python CLI prints with
/// <c>json.dumps({...}, ensure_ascii=False, separators=(',', ':'))</c>: text unescaped (UTF-8 on the way out), and only
/// what JSON requires escaped: '"', '\' and U+0000..U+001F (short forms where JSON has them, else \u00xx in lower case).
/// System.Text.Json's encoders, <c>JavaScriptEncoder.UnsafeRelaxedJsonEscaping</c> included, escape more than JSON
/// requires (characters they class as unsafe in some context), so the two CLIs would print different JSON for one
/// message; python/tests/test_cli_interop.py compares the two byte for byte on such characters.
/// </summary>
internal static class JsonLine
{
    public static string Format(string text, int bytes, uint crc)
    {
        var line = new StringBuilder(text.Length + 48).Append("{\"text\":\"");
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': line.Append("\\\""); break;
                case '\\': line.Append("\\\\"); break;
                case '\n': line.Append("\\n"); break;
                case '\r': line.Append("\\r"); break;
                case '\t': line.Append("\\t"); break;
                case '\b': line.Append("\\b"); break;
                case '\f': line.Append("\\f"); break;
                case < ' ': line.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: line.Append(c); break;
            }
        }
        return line.Append("\",\"bytes\":").Append(bytes.ToString(CultureInfo.InvariantCulture))
            .Append(",\"crc\":\"").Append(crc.ToString("x8", CultureInfo.InvariantCulture)).Append("\"}").ToString();
    }
}
