using System.CommandLine;
using System.Text.Json;
using NPipes.Transport;
using StreamJsonRpc;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes rpc serve NAME</c> and <c>npipes rpc call NAME METHOD [ARG...]</c>: JSON-RPC 2.0 over npipes frames (docs/rpc.md).</summary>
internal static class RpcCommand
{
    /// <summary>
    /// Why the call's connection was lost, with the likely cause when the server closed it (MismatchHint): the cause is
    /// what ended <see cref="JsonRpc.Completion"/>, which follows the lost call within moments (waited for at most 1 s).
    /// </summary>
    private static async Task<string> LostTextAsync(ConnectionLostException e, JsonRpc rpc, string method)
    {
        if (e.Message.Contains(MismatchHint.ServerCloses, StringComparison.Ordinal))
        {
            return $"connection lost before '{method}' was answered: {ErrorText.Plain(e)}"; // cut off while sent
        }
        await Task.WhenAny(rpc.Completion, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        Exception? cause = e.InnerException ?? rpc.Completion.Exception?.InnerException;
        return cause is null or ConnectionClosedException { Reason: DisconnectReason.PeerClosed }
            ? MismatchHint.LostBeforeAnswer(method, "the server closed the connection")
            : $"connection lost before '{method}' was answered: {ErrorText.Plain(cause)}";
    }

    /// <summary>
    /// How long a timed-out call gives the cancellation and the close before the CLI exits anyway: the timeout bounds the
    /// whole command, the close included, so this is small (a server that floods and never reads must not hold it).
    /// </summary>
    private static readonly TimeSpan CloseGrace = TimeSpan.FromMilliseconds(100);

    public static Command Create() => new("rpc", "JSON-RPC 2.0 over npipes frames, one message per frame (StreamJsonRpc-compatible).")
    {
        CreateServe(),
        CreateCall(),
        RpcDescribeCommand.Create(),
        RpcStubsCommand.Create(),
    };

    private static Command CreateServe()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name." };
        var command = new Command("serve", "Serve the demo target on NAME for any number of clients until Ctrl-C or SIGTERM: echo(text), add(a, b), sleep(ms) (cancellable), fail(code, message), whoami().")
        {
            name, common.Crc, common.ByteOrder,
        };
        var access = new AccessOptions();
        access.AddServerFlags(command);
        command.SetAction(async (result, ct) =>
        {
            string pipe = result.GetValue(name)!;
            // Calls still running 2 s after Ctrl-C/SIGTERM lose their connection: well within the CLI's grace period.
            var options = new PipeServerOptions { Connection = new NPipesOptions { Frame = Frame(common, result), Access = access.Access(result) }, DrainTimeout = TimeSpan.FromSeconds(2) };
            await using PipeServer server = PipeServer.Listen(pipe, options);
            // Through a bounded queue and a thread of its own: a stderr nobody drains must not stop the serving.
            using var log = new ServerLog("npipes rpc");
            server.Error += (_, e) => log.Write("connection closed: " + e.Exception.Message.ReplaceLineEndings(" "));
            Console.Out.WriteLine(Quote.Line($"npipes rpc: serving {Quote.Text(pipe)} at {PipeNames.GetPath(pipe)}"));
            Console.Out.Flush();
            await server.ServeJsonRpcAsync(connection => new RpcDemoTarget(connection.Peer), ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateCall()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name of a JSON-RPC server (for example npipes rpc serve)." };
        var method = new Argument<string>("METHOD") { Description = "The method to call." };
        // HelpName: the command list of `npipes rpc --help` shows an argument by its name alone, without its arity.
        var args = new Argument<string[]>("ARG") { HelpName = "ARG...", Description = "Positional arguments, each one JSON value (a string is \"quoted\").", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("call", "Call METHOD on the server on NAME and print the result as JSON. A remote error is one line on stderr with its code, exit 4; a timeout exits 3.")
        {
            name, method, args, common.Crc, common.ByteOrder, common.Timeout,
        };
        var access = new AccessOptions();
        access.AddClientFlags(command);
        command.SetAction(async (result, ct) =>
        {
            object?[] arguments = [.. (result.GetValue(args) ?? []).Select(ParseArgument)];
            string methodName = result.GetValue(method)!;
            TimeSpan timeout = Timeout(common, result);
            // One budget for connecting, the reply and the close, as npipes request does; any length (Deadline).
            using CancellationTokenSource? deadline = Deadline.After(timeout).Link(CancellationToken.None, out CancellationToken deadlineToken);
            using var callToken = CancellationTokenSource.CreateLinkedTokenSource(ct, deadlineToken);
            var options = new NPipesOptions { Frame = Frame(common, result), Timeout = timeout, TrustedServers = access.Trusted(result) };
            string pipe = result.GetValue(name)!;
            PipeConnection connection = await WaitNotice.Around(PipeConnection.ConnectAsync(pipe, options, ct), pipe).ConfigureAwait(false);
            JsonRpc rpc = connection.AttachJsonRpc();
            bool timedOut = false;
            try
            {
                // When callToken fires, StreamJsonRpc sends $/cancelRequest for this call.
                Task<JsonElement> call = rpc.InvokeWithCancellationAsync<JsonElement>(methodName, arguments, callToken.Token);
                JsonElement value = await call.WaitAsync(callToken.Token).ConfigureAwait(false);
                Console.Out.WriteLine(value.GetRawText());
                return ExitCodes.Success;
            }
            catch (ConnectionLostException e)
            {
                // A ConnectionLostException is a RemoteRpcException, but nothing remote answered: the connection ended
                // (the server stopped, or closed a connection whose frame it could not read). docs/rpc.md §7: exit 1.
                Console.Error.WriteLine(Quote.Line("npipes rpc: " + await LostTextAsync(e, rpc, methodName).ConfigureAwait(false)));
                return ExitCodes.Other;
            }
            catch (RemoteRpcException e)
            {
                // RemoteInvocationException (the method failed) carries any code; the others a JSON-RPC one (method not found, ...).
                int? code = e is RemoteInvocationException invocation ? invocation.ErrorCode : (int?)e.ErrorCode;
                Console.Error.WriteLine(Quote.Line($"npipes rpc: error {code}: {e.Message.ReplaceLineEndings(" ")}"));
                return ExitCodes.DataError;
            }
            catch (OperationCanceledException) when (deadline is { IsCancellationRequested: true } && !ct.IsCancellationRequested)
            {
                timedOut = true;
                Console.Error.WriteLine(Quote.Line($"npipes rpc: timed out: no reply to {Quote.Text(methodName)} within {timeout.TotalSeconds:0.###} s (the call was cancelled)"));
                return ExitCodes.Timeout;
            }
            finally
            {
                // Closing writes out what is queued (the cancellation) while the peer takes it. After a timeout that is
                // bounded by CloseGrace: a peer that never reads must not stretch the command past its timeout.
                Task close = Task.Run(rpc.Dispose, CancellationToken.None);
                if (timedOut)
                {
                    await Task.WhenAny(close, Task.Delay(CloseGrace, CancellationToken.None)).ConfigureAwait(false);
                }
                else
                {
                    await close.ConfigureAwait(false);
                }
            }
        });
        return command;
    }

    private static FrameOptions Frame(CommonOptions common, ParseResult result) => new()
    {
        ByteOrder = result.GetValue(common.ByteOrder) == "little" ? ByteOrder.LittleEndian : ByteOrder.BigEndian,
        Crc = result.GetValue(common.Crc),
    };

    private static TimeSpan Timeout(CommonOptions common, ParseResult result)
    {
        double? seconds = result.GetValue(common.Timeout);
        if (seconds is < 0)
        {
            throw new ArgumentException("--timeout must be zero or more seconds.");
        }
        return seconds is { } s ? TimeSpan.FromSeconds(s) : System.Threading.Timeout.InfiniteTimeSpan;
    }

    private static object? ParseArgument(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Each ARG must be one JSON value (a string is written \"quoted\"); not JSON: {json} ({e.Message})", e);
        }
    }
}
