using System.CommandLine;
using System.Text;
using System.Text.Json;
using NPipes.Cli.Commands.Stubs;

namespace NPipes.Cli.Commands;

/// <summary>
/// <c>npipes rpc stubs (NAME | FILE.json) --lang python|csharp [--out FILE]</c>: typed stubs from an OpenRPC document
/// (docs/rpc.md §8.4), read from a file or fetched from a running server's <c>rpc.discover</c>. Same document, same bytes.
/// </summary>
internal static class RpcStubsCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var source = new Argument<string>("SOURCE") { HelpName = "NAME|FILE.json", Description = "An OpenRPC document: a .json file (as npipes rpc describe prints it), or the pipe name of a server to ask with rpc.discover." };
        Option<string> lang = OptionValues.Choice("--lang", "The language: python (a Protocol, dataclasses and a client class for npipes.rpc; default) or csharp (an interface and records for Attach<T>()).",
            "python", ["python", "csharp"], ["python", "csharp"], value => value);
        var output = new Option<string>("--out") { Description = "Write the stubs to FILE (default: standard output).", HelpName = "FILE" };
        var command = new Command("stubs", "Generate typed stubs from a server's OpenRPC document (rpc.discover) or a saved one. A document the generator cannot map exits 4, saying where.")
        {
            source, lang, output, common.Crc, common.ByteOrder, common.Timeout,
        };
        command.SetAction(async (result, ct) =>
        {
            string from = result.GetValue(source)!;
            bool isFile = File.Exists(from) || from.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
            JsonElement? document = isFile ? Read(from) : await RpcDescribeCommand.FetchAsync(from, common, result, ct).ConfigureAwait(false);
            if (document is not { } found)
            {
                return ExitCodes.DataError;
            }
            string code;
            try
            {
                var contract = Contract.Read(found, isFile ? Path.GetFileName(from) : $"rpc.discover on pipe '{from}'");
                code = result.GetValue(lang) == "csharp" ? CSharpStubs.Generate(contract) : PythonStubs.Generate(contract);
            }
            catch (Exception e) when (e is ContractException or KeyNotFoundException or InvalidOperationException)
            {
                Console.Error.WriteLine($"npipes rpc stubs: cannot generate from {from}: {ErrorText.Plain(e)}");
                return ExitCodes.DataError;
            }
            if (result.GetValue(output) is { } path)
            {
                await File.WriteAllTextAsync(path, code, new UTF8Encoding(false), ct).ConfigureAwait(false);
            }
            else
            {
                Console.Out.Write(code);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static JsonElement Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path} is not JSON: {e.Message}", e);
        }
    }
}
