using System.CommandLine;
using NPipes.Cli;
using NPipes.Cli.Commands;

// npipes: the command-line face of NPipes. Exit codes: 0 success, 2 usage, 3 timeout, 4 data error, 1 anything else.
var root = new RootCommand("npipes: npipes 1.0.1-compatible messages over named pipes (Windows pipes, Unix domain sockets elsewhere).")
{
    SendCommand.Create(),
    ReceiveCommand.Create(),
    FrameCommand.Create(),
    DemoCommand.Create(),
};

ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine("npipes: " + error.Message);
    }
    Console.Error.WriteLine("Try 'npipes --help'.");
    return ExitCodes.Usage;
}

try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
}
catch (OperationCanceledException)
{
    return ExitCodes.Success; // Ctrl-C or SIGTERM: a requested stop, not an error.
}
catch (Exception e)
{
    Console.Error.WriteLine($"npipes: {e.GetType().Name}: {e.Message}");
    return ExitCodes.For(e);
}
