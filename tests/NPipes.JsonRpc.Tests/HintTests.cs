using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace NPipes.RpcTests;

/// <summary>
/// A call over the server's payload limit, cut off while it is sent, fails with the likely cause (MismatchHint;
/// python/npipes/_hints.py says the same) and stays a <see cref="ConnectionLostException"/>, the type callers catch. (A
/// call pending when the server closes gets StreamJsonRpc's own ConnectionLostException and a clean Completion,
/// docs/rpc.md §6; the CLI names the cause then: CliTests.)
/// </summary>
public class HintTests
{
    private const string ServerCloses = "a server closes a connection whose frame it cannot read: " +
        "check that both sides use the same CRC setting, byte order, encoding and maximum message size";

    [Fact]
    public async Task A_request_over_the_servers_limit_is_named_as_the_likely_cause()
    {
        // The handler's write alone (no JsonRpc reading the same connection): with a read loop, the end of the stream
        // and the failed write race, and the call may get StreamJsonRpc's own message instead (the summary above).
        var small = new PipeServerOptions { Connection = Rpc.Options() with { Frame = Rpc.Options().Frame with { MaxPayloadLength = 1000 } }, DrainTimeout = TimeSpan.Zero };
        await using RunningServer server = Rpc.Serve<TestTarget>(small);
        await using PipeConnection connection = await PipeConnection.ConnectAsync(server.Name, Rpc.Options(), Rpc.Ct);
        using var handler = new NPipesMessageHandler(connection);
        // More than a socket buffer holds: the server refuses the header and closes while the rest is being sent.
        var request = new JsonRpcRequest { RequestId = new RequestId(1), Method = "measure", Arguments = new object?[] { new string('x', 4 * 1024 * 1024) } };
        var lost = await Assert.ThrowsAsync<ConnectionLostException>(() => handler.WriteAsync(request, Rpc.Ct).AsTask().Bounded());
        Assert.Contains(ServerCloses, lost.Message, StringComparison.Ordinal);
    }
}
