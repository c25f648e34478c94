using System.Text;

namespace NPipes;

/// <summary>The strict encodings NPipes uses for text payloads, and parsing of their names.</summary>
public static class TextEncodings
{
    /// <summary>ASCII that throws on anything above 0x7F instead of substituting '?'.</summary>
    public static Encoding Ascii { get; } = Strict(Encoding.ASCII);

    /// <summary>UTF-8 without a byte order mark that throws on invalid sequences.</summary>
    public static Encoding Utf8 { get; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Latin-1 (ISO-8859-1) that throws on characters above U+00FF.</summary>
    public static Encoding Latin1 { get; } = Strict(Encoding.Latin1);

    /// <summary>Returns the encoding named <paramref name="name"/> ("ascii", "utf-8", "latin-1" and their usual aliases, or any name .NET knows), made strict.</summary>
    /// <exception cref="ArgumentException">The name is not a known encoding.</exception>
    public static Encoding Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name.Trim().ToLowerInvariant())
        {
            case "ascii" or "us-ascii": return Ascii;
            case "utf-8" or "utf8": return Utf8;
            case "latin-1" or "latin1" or "iso-8859-1" or "iso8859-1": return Latin1;
        }
        try
        {
            return Strict(Encoding.GetEncoding(name));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Unknown text encoding '{name}'. Use ascii, utf-8 or latin-1.", nameof(name), e);
        }
    }

    /// <summary>Returns a copy of <paramref name="encoding"/> whose encoder and decoder throw instead of substituting.</summary>
    public static Encoding Strict(Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        if (encoding.EncoderFallback is EncoderExceptionFallback && encoding.DecoderFallback is DecoderExceptionFallback)
        {
            return encoding;
        }
        var strict = (Encoding)encoding.Clone();
        strict.EncoderFallback = EncoderFallback.ExceptionFallback;
        strict.DecoderFallback = DecoderFallback.ExceptionFallback;
        return strict;
    }
}
