namespace NPipes.Tests.SharedMemory;

/// <summary>
/// Where shared memory is not available (a stream of the tests' making; the netstandard2.0 build's Unix socket),
/// opting in is refused when the connection is made (docs/shared-memory.md §7). Compiled into both test builds.
/// </summary>
public sealed class SharedMemoryRefusalTests
{
    private static NPipesOptions WithSharedMemory => TestPipes.Options() with { SharedMemory = new SharedMemoryOptions() };

    [Fact]
    public void Options_are_validated_and_off_by_default()
    {
        Assert.Equal(65_536, SharedMemoryOptions.Default.MinPayloadLength);
        Assert.Equal(64L * 1024 * 1024, SharedMemoryOptions.Default.MaxInFlightBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedMemoryOptions { MinPayloadLength = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedMemoryOptions { MaxInFlightBytes = 0 });
        Assert.Null(NPipesOptions.Default.SharedMemory);
    }

    [Fact]
    public void Opting_in_over_a_stream_that_is_not_a_pipe_is_refused_and_closes_it()
    {
        var stream = new MemoryStream();
        var error = Assert.Throws<PlatformNotSupportedException>(() => new PipeConnection(stream, "none", WithSharedMemory));
        Assert.Contains("not available on a stream that is not a pipe", error.Message, StringComparison.Ordinal);
        Assert.False(stream.CanRead);
    }

#if NPIPES_NETSTANDARD
    private static bool Available => false;
#else
    private static bool Available => OperatingSystem.IsLinux();
#endif

    private static string Platform =>
        OperatingSystem.IsWindows() ? "Windows" : OperatingSystem.IsMacOS() ? "macOS" : OperatingSystem.IsLinux() ? "Linux in the netstandard2.0 build" : "";

    [Fact]
    public async Task A_server_with_shared_memory_needs_linux_and_the_net10_build()
    {
        string name = TestPipes.NewName();
        if (Available)
        {
            await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = WithSharedMemory });
            return;
        }
        var error = Assert.Throws<PlatformNotSupportedException>(() => PipeServer.Listen(name, new PipeServerOptions { Connection = WithSharedMemory }));
        Assert.Contains("not available on " + Platform, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connecting_with_shared_memory_needs_linux_and_the_net10_build()
    {
        string name = TestPipes.NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = TestPipes.Options() });
        Task<PipeConnection> connecting = PipeConnection.ConnectAsync(name, WithSharedMemory, TestContext.Current.CancellationToken);
        if (Available)
        {
            await using PipeConnection connection = await connecting.WaitAsync(TestPipes.Patience, TestContext.Current.CancellationToken);
            Assert.True(connection.IsConnected);
            return;
        }
        var error = await Assert.ThrowsAsync<PlatformNotSupportedException>(() => connecting.WaitAsync(TestPipes.Patience, TestContext.Current.CancellationToken));
        Assert.Contains("not available on " + Platform, error.Message, StringComparison.Ordinal);
    }
}
