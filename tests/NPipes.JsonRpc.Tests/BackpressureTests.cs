using System.Net.Sockets;
using System.Text;
using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>
/// Backpressure (docs/rpc.md section 9): a connection reads at most <see cref="NPipesJsonRpcOptions.MaxPendingRequests"/>
/// requests (and <see cref="NPipesJsonRpcOptions.MaxPendingRequestBytes"/>) ahead of their responses being written, so a
/// client that floods calls, or never reads its replies, costs the server a bounded amount; reading pauses, nothing fails.
/// Memory is the managed heap after a full collection, in this process (server and raw client both; the client holds
/// one reused buffer).
/// </summary>
[Collection(nameof(MemoryCollection))]
public class BackpressureTests
{
    /// <summary>Holds every call until the test opens the gate; counts the calls dispatched.</summary>
    public sealed class HoldTarget
    {
        private int _arrived;

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Arrived => Volatile.Read(ref _arrived);

        [JsonRpcMethod("hold")]
        public async Task<int> HoldAsync(int i)
        {
            Interlocked.Increment(ref _arrived);
            await Gate.Task.ConfigureAwait(false);
            return i;
        }

        [JsonRpcMethod("echo")]
        public string Echo(string text)
        {
            Interlocked.Increment(ref _arrived);
            return text;
        }
    }

    [Fact]
    public async Task Pipelined_calls_that_never_finish_dispatch_exactly_the_default_limit_and_the_clients_sends_wait()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "drives the server with a raw AF_UNIX client");
        var target = new HoldTarget();
        await using RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(target));
        long before = Heap();
        using var flooder = new Flooder(server.Name, i => $"{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"hold\",\"params\":[{i}]}}", count: 100_000);
        await Until.TrueAsync(() => target.Arrived >= NPipesJsonRpcOptions.Default.MaxPendingRequests, "the server to dispatch the first calls");
        await flooder.StalledAsync();
        long grown = Heap() - before;
        TestContext.Current.TestOutputHelper?.WriteLine($"hold: {target.Arrived} dispatched, {flooder.Sent:N0} sent, heap +{grown:N0} bytes");
        Assert.Equal(NPipesJsonRpcOptions.Default.MaxPendingRequests, target.Arrived); // 264: reading paused there
        Assert.True(flooder.Sent < 100_000, "the client sent all its calls: the server kept reading");
        Assert.True(grown < 8L * 1024 * 1024, $"the heap grew by {grown:N0} bytes holding {target.Arrived} calls ({flooder.Sent:N0} sent)");
        Assert.Empty(server.Errors);
        target.Gate.SetResult();
    }

    [Fact]
    public async Task A_client_that_never_reads_its_replies_to_60_KB_echo_calls_costs_a_bounded_heap()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "drives the server with a raw AF_UNIX client");
        var target = new HoldTarget();
        await using RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(target));
        string text = new('x', 60_000);
        long before = Heap();
        const int Calls = 1100; // 64 MiB of calls
        using var flooder = new Flooder(server.Name, i => $"{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"echo\",\"params\":[\"{text}\"]}}", Calls);
        await Until.TrueAsync(() => target.Arrived > 0, "the server to answer the first calls");
        await flooder.StalledAsync();
        long grown = Heap() - before;
        TestContext.Current.TestOutputHelper?.WriteLine($"echo: {flooder.Sent:N0} calls of 60 KB sent, {target.Arrived} answered, heap +{grown:N0} bytes");
        Assert.True(flooder.Sent < Calls, "the client sent all 64 MiB: the server kept reading");
        Assert.True(grown < 32L * 1024 * 1024, $"the heap grew by {grown:N0} bytes ({flooder.Sent:N0} calls of 60 KB sent, {target.Arrived} answered)");
        Assert.Empty(server.Errors);
    }

    [Fact]
    public async Task Calls_beyond_the_limit_wait_and_all_complete()
    {
        var target = new HoldTarget();
        var options = new NPipesJsonRpcOptions { MaxPendingRequests = 4 };
        string name = Rpc.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Rpc.Options(), DrainTimeout = TimeSpan.FromSeconds(2) });
        Task serving = server.ServeJsonRpcAsync((rpc, _) => rpc.AddLocalRpcTarget(target), options, Rpc.Ct);
        using JsonRpc client = await Rpc.ConnectAsync(name);
        Task<int>[] calls = [.. Enumerable.Range(0, 500).Select(i => client.InvokeWithCancellationAsync<int>("hold", [i], Rpc.Ct))];
        await Until.TrueAsync(() => target.Arrived == 4, "four calls to be dispatched");
        Assert.Equal(4, target.Arrived);
        Assert.All(calls, c => Assert.False(c.IsCompleted));
        target.Gate.SetResult();
        int[] results = await Task.WhenAll(calls).Bounded();
        Assert.Equal(Enumerable.Range(0, 500), results);
    }

    [Fact]
    public void Options_refuse_limits_below_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NPipesJsonRpcOptions { MaxPendingRequests = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new NPipesJsonRpcOptions { MaxPendingRequestBytes = 0 });
        Assert.Equal(264, NPipesJsonRpcOptions.Default.MaxPendingRequests);
        Assert.Equal(4L * 1024 * 1024, NPipesJsonRpcOptions.Default.MaxPendingRequestBytes);
        Assert.False(NPipesJsonRpcOptions.Default.IncludeStackTraces);
    }

    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>A raw client that sends request frames as fast as the server takes them and never reads.</summary>
    private sealed class Flooder : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly Task _sending;
        private long _sent;

        public Flooder(string name, Func<int, string> request, int count)
        {
            _socket.Connect(new UnixDomainSocketEndPoint(PipeNames.GetPath(name)));
            FrameOptions frame = Rpc.Options().Frame;
            _sending = Task.Run(() =>
            {
                byte[] buffer = [];
                for (int i = 0; i < count; i++)
                {
                    byte[] payload = Encoding.UTF8.GetBytes(request(i));
                    if (buffer.Length != FrameCodec.Overhead + payload.Length)
                    {
                        buffer = new byte[FrameCodec.Overhead + payload.Length];
                    }
                    FrameCodec.Write(buffer, payload, frame);
                    _socket.Send(buffer); // blocks while the server does not read
                    Interlocked.Increment(ref _sent);
                }
            });
        }

        public long Sent => Interlocked.Read(ref _sent);

        /// <summary>
        /// Returns once the sender has made no progress for half a second (the server stopped reading) or has sent
        /// everything. Sampling only lets a server that keeps reading show itself; the assertions do not depend on it.
        /// </summary>
        public async Task StalledAsync()
        {
            long last = -1;
            int still = 0;
            for (int i = 0; i < 400 && still < 5 && !_sending.IsCompleted; i++)
            {
                await Task.Delay(100, Rpc.Ct);
                long now = Sent;
                still = now == last ? still + 1 : 0;
                last = now;
            }
        }

        public void Dispose()
        {
            _socket.Dispose(); // the blocked send fails: the sending task ends
            try
            {
                _sending.Wait(Rpc.Patience);
            }
            catch (AggregateException)
            {
                // The send broken by the dispose.
            }
        }
    }
}

/// <summary>Tests that measure this process's heap run alone.</summary>
[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public sealed class MemoryCollection;
