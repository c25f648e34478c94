#if NPIPES_NETSTANDARD
using System.Runtime.Versioning;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library.SharedMemory;

/// <summary>
/// The netstandard2.0 build has no shared memory, on Windows too (docs/shared-memory.md §7): opting in is refused when
/// the connection is made (a server already at Listen), naming the build; never silently ignored.
/// </summary>
[SupportedOSPlatform("windows")]
public class SharedMemoryRefusalTests
{
    private static readonly NPipesOptions Options = new() { Timeout = Guard, SharedMemory = new SharedMemoryOptions() };

    [Fact]
    public async Task Shared_memory_is_refused_by_the_netstandard_build_on_Windows()
    {
        Require.Windows();
        var listen = Assert.Throws<PlatformNotSupportedException>(() => PipeServer.Listen(NewName(), new PipeServerOptions { Connection = Options }));
        Assert.Contains("Windows in the netstandard2.0 build", listen.Message, StringComparison.Ordinal);
        string name = NewName();
        using var raw = Server(name);
        Task waiting = OnThread(raw.WaitForConnection);
        var connect = await Assert.ThrowsAsync<PlatformNotSupportedException>(() => Within(PipeConnection.ConnectAsync(name, Options, TestContext.Current.CancellationToken)));
        Assert.Contains("Windows in the netstandard2.0 build", connect.Message, StringComparison.Ordinal);
        await Within(waiting);
    }
}
#endif
