using System.CommandLine;
using NPipes.Cli.Commands;

namespace NPipes.Cli;

/// <summary>
/// The npipes command line as a callable entry point: the executable's Main calls it, and so can a test host that
/// must run the CLI in-process (the Windows lane under Wine). Exit codes: 0 success, 2 usage, 3 timeout,
/// 4 data error, 1 anything else; errors are one line on standard error.
/// </summary>
public static class CliApp
{
    /// <summary>Parses <paramref name="args"/>, runs the command and returns its exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] == NPipes.Bench.BenchRunner.PeerArgument)
        {
            // npipes bench re-launches this program as its peer process.
            return await NPipes.Bench.BenchRunner.RunPeerAsync(args[1..]).ConfigureAwait(false);
        }
        var root = new RootCommand("npipes: npipes 1.0.1-compatible messages over named pipes (Windows pipes, Unix domain sockets elsewhere).")
        {
            SendCommand.Create(),
            ReceiveCommand.Create(),
            EchoCommand.Create(),
            RequestCommand.Create(),
            FrameCommand.Create(),
            BenchCommand.Create(),
            DemoCommand.Create(),
            RpcCommand.Create(),
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
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancellationToken).ConfigureAwait(false);
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
    }
}
