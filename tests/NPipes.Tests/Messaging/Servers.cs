namespace NPipes.Tests.Messaging;

/// <summary>Helpers for messaging tests: an echo server and bounded waits.</summary>
internal static class Servers
{
    /// <summary>Options with CRC on and the test patience as the connect timeout.</summary>
    public static NPipesOptions Crc(long maxPayload = FrameOptions.DefaultMaxPayloadLength) =>
        TestPipes.Options(FrameOptions.Default with { Crc = true, MaxPayloadLength = maxPayload });

    /// <summary>A server echoing every request, running in the background.</summary>
    public static (PipeServer Server, Task Running) StartEcho(string name, PipeServerOptions? options = null)
    {
        var server = PipeServer.Listen(name, options ?? new PipeServerOptions { Connection = Crc() });
        Task running = server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload));
        return (server, running);
    }

    /// <summary>Fails the test instead of hanging when <paramref name="task"/> does not finish in time.</summary>
    public static Task Within(this Task task) => task.WaitAsync(TestPipes.Patience);

    /// <summary>Fails the test instead of hanging when <paramref name="task"/> does not finish in time.</summary>
    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(TestPipes.Patience);

    /// <summary>Fails the test instead of hanging when <paramref name="task"/> does not finish in time.</summary>
    public static Task<T> Within<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(TestPipes.Patience);
}
