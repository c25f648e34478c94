using System.CommandLine;
using System.CommandLine.Parsing;

namespace NPipes.Cli;

/// <summary>
/// A command line that does not parse, as ONE line with the Python CLI's wording (argparse's, python/npipes/__main__.py):
/// System.CommandLine reports every problem on its own line, with .NET type names. The first problem is reported, in
/// the order argparse finds them: an unknown command, a bad option value, a missing argument, a word left over.
/// </summary>
internal static class ParseErrorText
{
    /// <summary>"MESSAGE (see 'npipes COMMAND --help')", without the "npipes: " prefix.</summary>
    public static string Describe(ParseResult parsed)
    {
        CommandResult command = parsed.CommandResult;
        IReadOnlyList<string> unmatched = parsed.UnmatchedTokens;
        if (command.Command.Subcommands.Count > 0 && command.Command.Action is null)
        {
            // A command of commands (npipes, npipes frame, npipes rpc) got none, or one it does not know.
            if (unmatched.Count > 0 && !unmatched[0].StartsWith('-'))
            {
                string[] names = [.. command.Command.Subcommands.Select(c => c.Name)];
                string guess = Suggestion.For(unmatched[0], names);
                string known = guess.Length > 0 ? guess : "; the commands are " + string.Join(", ", names);
                return $"unknown command {Quote.Text(unmatched[0])}{known}" + See(command);
            }
            return "the following arguments are required: COMMAND" + See(command);
        }
        foreach (ParseError error in parsed.Errors)
        {
            if (OptionOf(error.SymbolResult) is { } option)
            {
                string problem = option.Tokens.Count == 0 ? "expected one argument" : error.Message;
                return $"argument {option.Option.Name}: {problem}" + See(command);
            }
        }
        string[] missing = [.. command.Command.Arguments
            .Where(a => a.Arity.MinimumNumberOfValues > 0 && (parsed.GetResult(a) is not ArgumentResult r || r.Tokens.Count == 0))
            .Select(a => a.Name)];
        if (missing.Length > 0)
        {
            return "the following arguments are required: " + string.Join(", ", missing) + See(command);
        }
        if (unmatched.Count > 0)
        {
            // argparse reports words left over from its top level.
            return "unrecognized arguments: " + string.Join(' ', unmatched) + See(parsed.RootCommandResult);
        }
        string first = parsed.Errors.Count > 0 ? parsed.Errors[0].Message : "the command line is not valid";
        return first.ReplaceLineEndings(" ").TrimEnd('.') + See(command);
    }

    private static OptionResult? OptionOf(SymbolResult? symbol) => symbol switch
    {
        OptionResult option => option,
        ArgumentResult { Parent: OptionResult option } => option,
        _ => null,
    };

    /// <summary>" (see 'npipes frame decode --help')": where the usage of the command that failed is.</summary>
    private static string See(CommandResult command)
    {
        var path = new List<string>();
        for (SymbolResult? s = command; s is CommandResult c && c.Parent is not null; s = c.Parent)
        {
            path.Insert(0, c.Command.Name);
        }
        return $" (see '{string.Join(' ', ["npipes", .. path])} --help')";
    }
}
