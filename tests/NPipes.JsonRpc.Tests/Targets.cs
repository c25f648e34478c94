using System.Collections.Concurrent;
using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>The server-side target the tests call. Signals let a test see what happened on the server.</summary>
public sealed class TestTarget
{
    /// <summary>Set when <see cref="SleepAsync"/> starts waiting.</summary>
    public TaskCompletionSource SleepStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when <see cref="SleepAsync"/>'s cancellation token fires.</summary>
    public TaskCompletionSource SleepCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Notifications received by <see cref="Note"/>.</summary>
    public BlockingCollection<string> Notes { get; } = [];

    [JsonRpcMethod("echo")]
    public string Echo(string text) => text;

    /// <summary>The length and CRC-32 of <paramref name="text"/>'s UTF-8 bytes, so a large argument need not travel back.</summary>
    [JsonRpcMethod("measure")]
    public long[] Measure(string text)
    {
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(text);
        return [utf8.Length, FrameCodec.ComputeCrc(utf8)];
    }

    [JsonRpcMethod("add")]
    public double Add(double a, double b) => a + b;

    [JsonRpcMethod("sleep")]
    public async Task<int> SleepAsync(int ms, CancellationToken cancellationToken)
    {
        using CancellationTokenRegistration _ = cancellationToken.Register(() => SleepCancelled.TrySetResult());
        SleepStarted.TrySetResult();
        await Task.Delay(ms, cancellationToken);
        return ms;
    }

    [JsonRpcMethod("fail")]
    public void Fail(int code, string message) => throw new LocalRpcException(message) { ErrorCode = code };

    [JsonRpcMethod("crash")]
    public void Crash(string message) => throw new InvalidOperationException(message);

    [JsonRpcMethod("count")]
    public int Count(int n, IProgress<int> progress)
    {
        for (int i = 1; i <= n; i++)
        {
            progress.Report(i);
        }
        return n;
    }

    [JsonRpcMethod("note")]
    public void Note(string text) => Notes.Add(text);
}

/// <summary>A typed contract, for proxies (<see cref="JsonRpc.Attach{T}(IJsonRpcMessageHandler)"/>).</summary>
public interface ICalculator
{
    Task<int> AddAsync(int a, int b, CancellationToken cancellationToken = default);

    Task<string> DescribeAsync(string who);

    Task FailAsync(string message);
}

/// <summary>The server's implementation of <see cref="ICalculator"/>.</summary>
public sealed class Calculator : ICalculator
{
    public Task<int> AddAsync(int a, int b, CancellationToken cancellationToken) => Task.FromResult(a + b);

    public Task<string> DescribeAsync(string who) => Task.FromResult("calculator for " + who);

    public Task FailAsync(string message) => throw new LocalRpcException(message) { ErrorCode = 1234 };
}
