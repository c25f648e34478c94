using System.CommandLine;
using System.Text.Json;
using StreamJsonRpc;

namespace NPipes.Cli.Commands;

/// <summary><c>npipes rpc describe NAME</c>: prints the OpenRPC document a running server answers to <c>rpc.discover</c> (docs/rpc.md §8).</summary>
internal static class RpcDescribeCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "The pipe name of a JSON-RPC server (for example npipes rpc serve)." };
        var command = new Command("describe", "Print the OpenRPC document (JSON) the server on NAME answers to rpc.discover. A remote error is one line with its code, exit 4; a timeout exits 3.")
        {
            name, common.Crc, common.ByteOrder, common.Timeout,
        };
        command.SetAction(async (result, ct) =>
        {
            JsonElement? document = await FetchAsync(result.GetValue(name)!, common, result, ct).ConfigureAwait(false);
            if (document is not { } found)
            {
                return ExitCodes.DataError;
            }
            Console.Out.Write(Indented(found));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The document as two-space indented JSON and a newline: the same bytes for the same document.</summary>
    internal static string Indented(JsonElement document) =>
        JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true, IndentSize = 2 }).ReplaceLineEndings("\n") + "\n";

    /// <summary>
    /// Calls <c>rpc.discover</c> on <paramref name="pipe"/>; null (with the remote error on stderr, as <c>rpc call</c>
    /// prints it) if the server answers with an error. --timeout bounds connecting and the reply together.
    /// </summary>
    /// <exception cref="TimeoutException">--timeout ran out.</exception>
    internal static async Task<JsonElement?> FetchAsync(string pipe, CommonOptions common, ParseResult result, CancellationToken ct)
    {
        double? seconds = result.GetValue(common.Timeout);
        TimeSpan timeout = seconds is { } s ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan;
        using var deadline = new CancellationTokenSource(timeout);
        using var callToken = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        var frame = new FrameOptions
        {
            ByteOrder = result.GetValue(common.ByteOrder) == "little" ? ByteOrder.LittleEndian : ByteOrder.BigEndian,
            Crc = result.GetValue(common.Crc),
        };
        try
        {
            PipeConnection connection = await WaitNotice.Around(PipeConnection.ConnectAsync(pipe, new NPipesOptions { Frame = frame, Timeout = timeout }, callToken.Token), pipe).ConfigureAwait(false);
            using JsonRpc rpc = connection.AttachJsonRpc();
            return await rpc.InvokeWithCancellationAsync<JsonElement>(OpenRpcDocument.DiscoverMethodName, [], callToken.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new TimeoutException();
        }
        catch (RemoteRpcException e) when (e is not ConnectionLostException)
        {
            int? code = e is RemoteInvocationException invocation ? invocation.ErrorCode : (int?)e.ErrorCode;
            Console.Error.WriteLine($"npipes rpc: error {code}: {e.Message.ReplaceLineEndings(" ")}");
            return null;
        }
    }
}
