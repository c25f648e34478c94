using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>docs/access.md §5 for JSON-RPC: a target made per connection knows who is calling and can decide per call.</summary>
public class CallerTests
{
    /// <summary>Answers only its own user's processes' "secret" calls: what a target does with <see cref="PipeConnection.Peer"/>.</summary>
    public sealed class GuardedTarget(PeerIdentity caller)
    {
        [JsonRpcMethod("whoami")]
        public string WhoAmI() => $"{caller.ProcessId}:{caller.UserId}:{caller.Sid}:{caller.UserName}";

        [JsonRpcMethod("secret")]
        public string Secret(long uid) => caller.UserId == uid ? "granted" : throw new LocalRpcException("not for you") { ErrorCode = 403 };
    }

    [Fact]
    public async Task A_target_factory_gets_the_callers_identity_and_authorizes_per_call()
    {
        await using RunningServer server = Rpc.Serve((rpc, connection) => rpc.AddLocalRpcTarget(new GuardedTarget(connection.Peer)));
        await using PipeConnection connection = await PipeConnection.ConnectAsync(server.Name, Rpc.Options(), Rpc.Ct);
        using JsonRpc client = connection.AttachJsonRpc();
        PeerIdentity me = connection.Peer; // the server is this process, so its identity is ours too
        Assert.Equal($"{Environment.ProcessId}:{me.UserId}:{me.Sid}:{Environment.UserName}", await client.InvokeWithCancellationAsync<string>("whoami", [], Rpc.Ct).Bounded());
        if (me.UserId is long uid)
        {
            Assert.Equal("granted", await client.InvokeWithCancellationAsync<string>("secret", [uid], Rpc.Ct).Bounded());
            var refused = await Assert.ThrowsAsync<RemoteInvocationException>(() => client.InvokeWithCancellationAsync<string>("secret", [uid + 1], Rpc.Ct).Bounded());
            Assert.Equal(403, refused.ErrorCode);
        }
    }
}
