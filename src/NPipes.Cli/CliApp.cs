using System.CommandLine;
using NPipes.Cli.Commands;

namespace NPipes.Cli;

/// <summary>
/// The npipes command line as a callable entry point: the executable's Main calls it, and so can a test host that
/// must run the CLI in-process (the Windows lane under Wine). Exit codes (<see cref="ExitCodes"/>): 0 success, 2 usage,
/// 3 timeout, 4 data error, 130 Ctrl-C, 143 SIGTERM, 1 anything else; an error is one line on standard error,
/// "npipes: " and what went wrong, worded as the Python CLI words it.
/// </summary>
/// <remarks>
/// Ctrl-C (SIGINT), SIGTERM or the caller's <c>cancellationToken</c> stop the command. A command stopped before it
/// finished (<c>send</c>, <c>receive</c>, <c>request</c>, ...) exits 128 + the signal (130 for SIGINT or the caller's
/// token, 143 for SIGTERM), so a script can tell an interrupted send from a delivered one; <c>echo</c> and <c>rpc serve</c>, servers whose normal end is being stopped, exit 0.
/// </remarks>
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
            Console.Error.WriteLine(Quote.Line("npipes: " + ParseErrorText.Describe(parsed)));
            return ExitCodes.Usage;
        }

        // A server stops when asked to: that is its normal end. Any other command stopped early was interrupted.
        bool isServer = parsed.CommandResult.Command.Name is "echo" or "serve";
        using var interruption = new Interruption();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, interruption.Token);
        // ProcessTerminationTimeout = null: System.CommandLine leaves the signals to Interruption.
        var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        Task<int> invocation = parsed.InvokeAsync(configuration, stop.Token);
        try
        {
            if (await Task.WhenAny(invocation, interruption.Stopped).ConfigureAwait(false) != invocation)
            {
                // The command did not end within the grace period (or a second signal came): stop waiting for it.
                return Stopped(isServer, interruption.ExitCode);
            }
            return await invocation.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return Stopped(isServer, interruption.ExitCode);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(Quote.Line("npipes: " + ErrorText.Describe(e, parsed)));
            return ExitCodes.For(e);
        }
    }

    private static int Stopped(bool isServer, int code)
    {
        if (isServer)
        {
            return ExitCodes.Success;
        }
        Console.Error.WriteLine("npipes: interrupted");
        return code;
    }
}
