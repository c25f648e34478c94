using System.CommandLine;
using System.Text.Json;
using StreamJsonRpc;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes rpc serve NAME</c> and <c>npipes rpc call NAME METHOD [ARG...]</c>: JSON-RPC 2.0 over npipes frames (docs/rpc.md).</summary>
internal static class RpcCommand
{
    /// <summary>How long a timed-out call waits for the server to confirm the cancellation before the CLI exits anyway.</summary>
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(1);

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
            server.Error += (_, e) => Console.Error.WriteLine($"npipes rpc: connection closed: {e.Exception.Message.ReplaceLineEndings(" ")}");
            Console.Out.WriteLine($"npipes rpc: serving '{pipe}' at {PipeNames.GetPath(pipe)}");
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
            // One budget for connecting and for the reply, as npipes request does.
            using var deadline = new CancellationTokenSource();
            if (timeout != System.Threading.Timeout.InfiniteTimeSpan)
            {
                deadline.CancelAfter(timeout);
            }
            using var callToken = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
            var options = new NPipesOptions { Frame = Frame(common, result), Timeout = timeout, TrustedServers = access.Trusted(result) };
            PipeConnection connection = await PipeConnection.ConnectAsync(result.GetValue(name)!, options, ct).ConfigureAwait(false);
            using JsonRpc rpc = connection.AttachJsonRpc();
            // When callToken fires, StreamJsonRpc sends $/cancelRequest for this call.
            Task<JsonElement> call = rpc.InvokeWithCancellationAsync<JsonElement>(methodName, arguments, callToken.Token);
            try
            {
                JsonElement value = await call.WaitAsync(callToken.Token).ConfigureAwait(false);
                Console.Out.WriteLine(value.GetRawText());
                return ExitCodes.Success;
            }
            catch (ConnectionLostException e)
            {
                // A ConnectionLostException is a RemoteRpcException, but nothing remote answered: the connection ended
                // (the server stopped, or closed a connection whose frame it could not read). docs/rpc.md §7: exit 1.
                string why = (e.InnerException ?? rpc.Completion.Exception?.InnerException)?.Message ?? "the server closed the connection";
                Console.Error.WriteLine($"npipes rpc: connection lost before '{methodName}' was answered: {why.ReplaceLineEndings(" ")}");
                return ExitCodes.Other;
            }
            catch (RemoteRpcException e)
            {
                // RemoteInvocationException (the method failed) carries any code; the others a JSON-RPC one (method not found, ...).
                int? code = e is RemoteInvocationException invocation ? invocation.ErrorCode : (int?)e.ErrorCode;
                Console.Error.WriteLine($"npipes rpc: error {code}: {e.Message.ReplaceLineEndings(" ")}");
                return ExitCodes.DataError;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // Give the server a moment to confirm the cancellation (error -32800) before closing the connection.
                await Task.WhenAny(call, Task.Delay(CancelGrace, CancellationToken.None)).ConfigureAwait(false);
                Console.Error.WriteLine($"npipes rpc: timed out: no reply to '{methodName}' within {timeout.TotalSeconds:0.###} s (the call was cancelled)");
                return ExitCodes.Timeout;
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
