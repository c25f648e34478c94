using StreamJsonRpc;

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
    public async Task A_call_over_the_servers_limit_is_named_as_the_likely_cause()
    {
        var small = new PipeServerOptions { Connection = Rpc.Options() with { Frame = Rpc.Options().Frame with { MaxPayloadLength = 1000 } }, DrainTimeout = TimeSpan.Zero };
        await using RunningServer server = Rpc.Serve<TestTarget>(small);
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        // More than a socket buffer holds: the server refuses the header and closes while the rest is being sent.
        string big = new('x', 4 * 1024 * 1024);
        var lost = await Assert.ThrowsAsync<ConnectionLostException>(() => client.InvokeWithCancellationAsync<long[]>("measure", [big], Rpc.Ct).Bounded());
        Assert.Contains(ServerCloses, lost.Message, StringComparison.Ordinal);
    }
}
