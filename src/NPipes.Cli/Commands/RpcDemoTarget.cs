using StreamJsonRpc;

namespace NPipes.Cli.Commands;

/// <summary>The demo target of <c>npipes rpc serve</c> (the Python CLI serves the same five methods), made per connection for the caller <paramref name="caller"/>.</summary>
internal sealed class RpcDemoTarget(PeerIdentity caller)
{
    /// <summary>Who is calling (docs/access.md §5): <c>{"pid": int, "uid": int|null, "user": string|null, "sid": string|null}</c>.</summary>
    [JsonRpcMethod("whoami")]
    public WhoAmI Whoami() => new(caller.ProcessId, caller.UserId, caller.UserName, caller.Sid);

    /// <summary>Returns <paramref name="text"/> unchanged.</summary>
    [JsonRpcMethod("echo")]
    public string Echo(string text) => text;

    /// <summary>Returns a + b.</summary>
    [JsonRpcMethod("add")]
    public double Add(double a, double b) => a + b;

    /// <summary>Waits <paramref name="ms"/> milliseconds and returns it; a <c>$/cancelRequest</c> ends it with error -32800.</summary>
    [JsonRpcMethod("sleep")]
    public async Task<int> SleepAsync(int ms, CancellationToken cancellationToken)
    {
        await Task.Delay(ms, cancellationToken).ConfigureAwait(false);
        return ms;
    }

    /// <summary>Fails with a JSON-RPC error carrying <paramref name="code"/> and <paramref name="message"/>.</summary>
    [JsonRpcMethod("fail")]
    public void Fail(int code, string message) => throw new LocalRpcException(message) { ErrorCode = code };
}

/// <summary>The result of <c>whoami</c>, serialized with these lower-case member names.</summary>
internal sealed record WhoAmI(
    [property: System.Text.Json.Serialization.JsonPropertyName("pid")] int Pid,
    [property: System.Text.Json.Serialization.JsonPropertyName("uid")] long? Uid,
    [property: System.Text.Json.Serialization.JsonPropertyName("user")] string? User,
    [property: System.Text.Json.Serialization.JsonPropertyName("sid")] string? Sid);
