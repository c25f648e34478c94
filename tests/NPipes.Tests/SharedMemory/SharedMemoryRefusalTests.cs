using System.Net.Sockets;
using NPipes.Transport;

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

    [Fact]
    public void A_unix_socket_has_shared_memory_only_in_the_net10_build_on_linux()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix sockets");
            return;
        }
        string path = Path.Combine(Path.GetTempPath(), "npt_" + Guid.NewGuid().ToString("N")[..16] + ".sock");
        var endPoint = new UnixDomainSocketEndPoint(path);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(endPoint);
        try
        {
            listener.Listen(1);
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(endPoint);
            var stream = new UnixSocketStream(listener.Accept());
#if NPIPES_NETSTANDARD
            var error = Assert.Throws<PlatformNotSupportedException>(() => new PipeConnection(stream, "sock", WithSharedMemory));
            Assert.Contains(OperatingSystem.IsLinux() ? "Linux in the netstandard2.0 build" : "not available on", error.Message, StringComparison.Ordinal);
#else
            if (OperatingSystem.IsLinux())
            {
                using var connection = new PipeConnection(stream, "sock", WithSharedMemory);
                Assert.True(connection.IsConnected);
            }
            else
            {
                var error = Assert.Throws<PlatformNotSupportedException>(() => new PipeConnection(stream, "sock", WithSharedMemory));
                Assert.Contains("macOS", error.Message, StringComparison.Ordinal);
            }
#endif
        }
        finally
        {
            File.Delete(path);
        }
    }
}
