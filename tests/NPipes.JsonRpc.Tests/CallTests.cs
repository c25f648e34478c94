using System.Collections.Concurrent;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace NPipes.RpcTests;

/// <summary>What StreamJsonRpc offers, over npipes frames between a PipeServer and a PipeConnection.</summary>
public class CallTests
{
    /// <summary>Calls that wait on gates the test opens, so the server answers in an order the test chooses.</summary>
    public sealed class GatedTarget(int expected)
    {
        private readonly ConcurrentDictionary<int, TaskCompletionSource<int>> _gates = new();
        private int _arrived;

        public TaskCompletionSource AllArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        [JsonRpcMethod("wait")]
        public Task<int> WaitAsync(int i)
        {
            Task<int> gate = Gate(i).Task;
            if (Interlocked.Increment(ref _arrived) == expected)
            {
                AllArrived.TrySetResult();
            }
            return gate;
        }

        public void Open(int i) => Gate(i).TrySetResult(i * 10);

        private TaskCompletionSource<int> Gate(int i) => _gates.GetOrAdd(i, _ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    [Fact]
    public async Task Hundred_concurrent_calls_complete_out_of_order_each_with_its_own_result()
    {
        const int calls = 100;
        var target = new GatedTarget(calls);
        await using RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(target));
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        Task<int>[] pending = [.. Enumerable.Range(0, calls).Select(i => client.InvokeWithCancellationAsync<int>("wait", [i], Rpc.Ct))];
        await target.AllArrived.Task.Bounded(); // all 100 are in flight at once on one connection
        // Answer last-sent first: each call must complete while every earlier one is still pending.
        for (int i = calls - 1; i >= 0; i--)
        {
            target.Open(i);
            Assert.Equal(i * 10, await pending[i].Bounded());
            Assert.All(pending[..i], p => Assert.False(p.IsCompleted));
        }
    }

    [Fact]
    public async Task Notifications_reach_the_server_in_order_and_get_no_reply()
    {
        var target = new TestTarget();
        await using RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(target));
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        for (int i = 0; i < 5; i++)
        {
            await client.NotifyAsync("note", "n" + i);
        }
        for (int i = 0; i < 5; i++)
        {
            Assert.True(target.Notes.TryTake(out string? note, Rpc.Patience), "notification " + i + " did not arrive");
            Assert.Equal("n" + i, note);
        }
        Assert.Equal("still here", await client.InvokeWithCancellationAsync<string>("echo", ["still here"], Rpc.Ct).Bounded());
    }

    [Fact]
    public async Task Cancelling_a_call_fires_the_servers_token_and_the_call_ends_cancelled()
    {
        var target = new TestTarget();
        await using RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(target));
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        using var cts = new CancellationTokenSource();
        Task<int> call = client.InvokeWithCancellationAsync<int>("sleep", [600_000], cts.Token);
        await target.SleepStarted.Task.Bounded();
        cts.Cancel();
        await target.SleepCancelled.Task.Bounded(); // $/cancelRequest reached the server and fired its token
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.Bounded());
        Assert.Equal(3.0, await client.InvokeWithCancellationAsync<double>("add", [1, 2], Rpc.Ct).Bounded());
    }

    /// <summary>Records reports synchronously, in the order the client's JsonRpc delivers them.</summary>
    private sealed class Recorder : IProgress<int>
    {
        public ConcurrentQueue<int> Values { get; } = new();

        public void Report(int value) => Values.Enqueue(value);
    }

    [Fact]
    public async Task Progress_reports_arrive_in_order_before_the_result()
    {
        await using RunningServer server = Rpc.Serve<TestTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);
        var progress = new Recorder();
        int result = await client.InvokeWithCancellationAsync<int>("count", [5, progress], Rpc.Ct).Bounded();
        Assert.Equal(5, result);
        Assert.Equal([1, 2, 3, 4, 5], progress.Values);
    }

    [Fact]
    public async Task Remote_errors_carry_their_codes()
    {
        await using RunningServer server = Rpc.Serve<TestTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name);

        var failed = await Assert.ThrowsAsync<RemoteInvocationException>(() => client.InvokeWithCancellationAsync("fail", [-32099, "custom failure"], Rpc.Ct).Bounded());
        Assert.Equal(-32099, failed.ErrorCode);
        Assert.Equal("custom failure", failed.Message);

        var crashed = await Assert.ThrowsAsync<RemoteInvocationException>(() => client.InvokeWithCancellationAsync("crash", ["it broke"], Rpc.Ct).Bounded());
        Assert.Equal((int)JsonRpcErrorCode.InvocationError, crashed.ErrorCode);
        Assert.Equal("it broke", crashed.Message);
        Assert.Equal(typeof(InvalidOperationException).FullName, Assert.IsType<CommonErrorData>(crashed.DeserializedErrorData).TypeName);

        var missing = await Assert.ThrowsAsync<RemoteMethodNotFoundException>(() => client.InvokeWithCancellationAsync("no_such_method", [], Rpc.Ct).Bounded());
        Assert.Equal(JsonRpcErrorCode.MethodNotFound, missing.ErrorCode);

        // Errors do not harm the connection.
        Assert.Equal("ok", await client.InvokeWithCancellationAsync<string>("echo", ["ok"], Rpc.Ct).Bounded());
    }

    [Fact]
    public async Task A_typed_proxy_calls_the_servers_interface()
    {
        await using RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget<ICalculator>(new Calculator(), null));
        PipeConnection connection = await PipeConnection.ConnectAsync(server.Name, Rpc.Options(), Rpc.Ct);
        ICalculator calculator = connection.AttachJsonRpc<ICalculator>();
        using (calculator as IDisposable)
        {
            Assert.Equal(42, await calculator.AddAsync(40, 2, Rpc.Ct).Bounded());
            Assert.Equal("calculator for tests", await calculator.DescribeAsync("tests").Bounded());
            var e = await Assert.ThrowsAsync<RemoteInvocationException>(() => calculator.FailAsync("nope").Bounded());
            Assert.Equal(1234, e.ErrorCode);
        }
        // Disposing the proxy disposed its JsonRpc, which closed the connection.
        await ((IJsonRpcClientProxy)calculator).JsonRpc.Completion.ContinueWith(_ => { }, TaskScheduler.Default).Bounded();
        Assert.Equal(DisconnectReason.LocalClose, connection.DisconnectReason);
    }

    /// <summary>A server target that calls back into the client that called it, over the same connection.</summary>
    public sealed class CallbackTarget(JsonRpc rpc)
    {
        [JsonRpcMethod("greet")]
        public async Task<string> GreetAsync(string name, CancellationToken cancellationToken) =>
            "hello " + await rpc.InvokeWithCancellationAsync<string>("client_name", [name], cancellationToken);
    }

    public sealed class ClientTarget
    {
        [JsonRpcMethod("client_name")]
        public string Name(string name) => name.ToUpperInvariant();
    }

    [Fact]
    public async Task Local_targets_serve_both_ways_on_one_connection()
    {
        await using RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(new CallbackTarget(rpc)));
        PipeConnection connection = await PipeConnection.ConnectAsync(server.Name, Rpc.Options(), Rpc.Ct);
        using JsonRpc client = connection.CreateJsonRpc();
        client.AddLocalRpcTarget(new ClientTarget());
        client.StartListening();
        Assert.Equal("hello ADA", await client.InvokeWithCancellationAsync<string>("greet", ["ada"], Rpc.Ct).Bounded());
    }

    [Fact]
    public async Task A_10_MiB_argument_arrives_intact_with_crc()
    {
        await using RunningServer server = Rpc.Serve<TestTarget>();
        using JsonRpc client = await Rpc.ConnectAsync(server.Name, crc: true);
        var random = new Random(7);
        string big = string.Create(10 * 1024 * 1024, random, (span, r) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + r.Next(26));
            }
        });
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(big);
        long[] measured = await client.InvokeWithCancellationAsync<long[]>("measure", [big], Rpc.Ct).Bounded();
        Assert.Equal([utf8.Length, FrameCodec.ComputeCrc(utf8)], measured);
    }

    [Fact]
    public async Task A_message_over_the_payload_limit_is_refused_before_sending_and_the_connection_stays_usable()
    {
        var frame = Rpc.Options().Frame with { MaxPayloadLength = 64 * 1024 };
        await using RunningServer server = Rpc.Serve<TestTarget>(new PipeServerOptions { Connection = Rpc.Options() with { Frame = frame } });
        PipeConnection connection = await PipeConnection.ConnectAsync(server.Name, Rpc.Options() with { Frame = frame }, Rpc.Ct);
        using JsonRpc client = connection.AttachJsonRpc();
        await Assert.ThrowsAsync<FrameTooLargeException>(() => client.InvokeWithCancellationAsync<string>("echo", [new string('x', 64 * 1024)], Rpc.Ct).Bounded());
        Assert.Equal("after", await client.InvokeWithCancellationAsync<string>("echo", ["after"], Rpc.Ct).Bounded());
        Assert.Empty(server.Errors); // nothing of the refused message reached the server
    }

    [Fact]
    public async Task The_handler_carries_any_formatters_bytes_here_messagepack()
    {
        string name = Rpc.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Rpc.Options() });
        Task serving = server.ServeJsonRpcAsync((rpc, _) => rpc.AddLocalRpcTarget(new TestTarget()), () => new MessagePackFormatter(), Rpc.Ct);
        PipeConnection connection = await PipeConnection.ConnectAsync(name, Rpc.Options(), Rpc.Ct);
        using JsonRpc client = connection.CreateJsonRpc(new MessagePackFormatter());
        client.StartListening();
        Assert.Equal("packed", await client.InvokeWithCancellationAsync<string>("echo", ["packed"], Rpc.Ct).Bounded());
    }

    [Fact]
    public async Task A_pipe_client_gets_a_json_rpc_and_a_new_one_on_its_next_connection_after_a_loss()
    {
        var connections = new List<PipeConnection>();
        await using RunningServer server = Rpc.Serve((rpc, connection) =>
        {
            lock (connections)
            {
                connections.Add(connection);
            }
            rpc.AddLocalRpcTarget(new TestTarget());
            rpc.AddLocalRpcMethod("drop", new Action(connection.Dispose)); // the server hangs up on this client
        });
        await using var client = new PipeClient(server.Name, new PipeClientOptions { Connection = Rpc.Options(), InitialReconnectDelay = TimeSpan.FromMilliseconds(10) });
        JsonRpc first = await client.AttachJsonRpcAsync(cancellationToken: Rpc.Ct);
        PipeConnection firstConnection = client.Connection!;
        Assert.Equal("one", await first.InvokeWithCancellationAsync<string>("echo", ["one"], Rpc.Ct).Bounded());
        await first.NotifyAsync("drop");
        await first.Completion.ContinueWith(_ => { }, TaskScheduler.Default).Bounded();

        // The loss was reported to the client, which reconnects by itself; the next JsonRpc is on the new connection.
        JsonRpc second = await client.AttachJsonRpcAsync(cancellationToken: Rpc.Ct).Bounded();
        Assert.NotSame(firstConnection, client.Connection);
        Assert.Equal("two", await second.InvokeWithCancellationAsync<string>("echo", ["two"], Rpc.Ct).Bounded());
        Assert.Equal(2, connections.Count);
        second.Dispose();
        await second.Completion.ContinueWith(_ => { }, TaskScheduler.Default).Bounded();
        Assert.True(client.Connection?.IsConnected); // the JsonRpc left the client's connection open
    }
}
