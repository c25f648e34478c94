using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace NPipes.Cli;

/// <summary>
/// Option value parsers whose refusals are the one-line messages of the Python CLI (python/npipes/__main__.py), word for
/// word: System.CommandLine's own say things like "Cannot parse argument 'x' for option '--timeout' of type
/// 'System.Nullable`1[System.Double]'". <see cref="ParseErrorText"/> puts "argument --OPTION: " in front.
/// </summary>
internal static class OptionValues
{
    /// <summary>
    /// The longest time option accepted, in seconds (10^11, about 3,170 years): every value from 0 to this is honoured
    /// exactly (the library times long waits in steps); above it, a usage error at once. The Python CLI has the same bound.
    /// </summary>
    public const double MaxSeconds = 1e11;

    /// <summary>An optional number of seconds: zero or more (<paramref name="positive"/>: more than zero), finite, at most <see cref="MaxSeconds"/>.</summary>
    public static Option<double?> Seconds(string name, string description, bool positive = false) => new(name)
    {
        Description = description,
        HelpName = "SECONDS",
        CustomParser = result =>
        {
            string text = result.Tokens[0].Value;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || value < 0)
            {
                result.AddError($"must be a number of seconds >= 0, not {Quote.Text(text)}");
                return null;
            }
            if (value > MaxSeconds)
            {
                result.AddError($"must be at most 1e11 seconds, not {Quote.Text(text)}");
                return null;
            }
            if (positive && value == 0)
            {
                result.AddError($"must be more than 0 seconds, not {Quote.Text(text)}");
                return null;
            }
            return value;
        },
    };

    /// <summary>A whole number of at least <paramref name="low"/>.</summary>
    public static Option<int> Whole(string name, string description, int low, int defaultValue) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = result.Tokens[0].Value;
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < low)
            {
                result.AddError($"must be a whole number >= {low}, not {Quote.Text(text)}");
                return defaultValue;
            }
            return value;
        },
    };

    /// <summary>
    /// One of <paramref name="accepted"/>; the value becomes <paramref name="normalize"/>(value). A refusal suggests the
    /// closest of <paramref name="suggested"/> to the value lower-cased with '_' as '-' (as the Python CLI does).
    /// </summary>
    public static Option<string> Choice(string name, string description, string defaultValue, string[] accepted, string[] suggested, Func<string, string> normalize) => new(name)
    {
        Description = description,
        HelpName = string.Join('|', suggested),
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = result.Tokens[0].Value;
            if (Array.IndexOf(accepted, text) < 0)
            {
                string guess = Suggestion.For(text.ToLowerInvariant().Replace('_', '-'), suggested);
                result.AddError($"{Quote.Text(text)} is not one of {string.Join(", ", accepted)}{guess}");
                return defaultValue;
            }
            return normalize(text);
        },
    };

    /// <summary>Seconds as both CLIs print them: up to 3 decimals, no trailing zeros ("0.2", "5").</summary>
    public static string Format(double seconds) => seconds.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>An optional limit as the echo "serving" line shows it: "5 s" or "none".</summary>
    public static string Format(double? seconds) => seconds is { } s ? Format(s) + " s" : "none";
}
