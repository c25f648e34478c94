using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Threading.Channels;
using NPipes.Tests.Messaging;
using NPipes.Transport;

namespace NPipes.Tests.Hostile;

/// <summary>Helpers for hostile tests: raw sockets, a server that records its errors, healthy round trips, meters.</summary>
internal static class Hostiles
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A raw client socket on the pipe, to send bytes that are not (whole, valid) frames.</summary>
    public static async Task<Socket> RawAsync(string name)
    {
        Stream stream = await PipeConnector.ConnectAsync(name, PipeAccess.CurrentUser, TestPipes.Patience, Ct);
        return ((NetworkStream)stream).Socket;
    }

    /// <summary>A header with the given raw MessageLength and DataLength fields, big endian.</summary>
    public static byte[] Header(uint messageLength, uint dataLength)
    {
        byte[] header = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(header, messageLength);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), dataLength);
        return header;
    }

    /// <summary>One whole frame around <paramref name="payload"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, FrameOptions options)
    {
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        FrameCodec.Write(writer, payload, options);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Sends and then closes the sending side, tolerating a server that closed first (it may refuse mid-send).</summary>
    public static async Task SendAndShutdownAsync(Socket socket, byte[] bytes)
    {
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None, Ct).AsTask().Within();
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.NotConnected)
        {
            // The server refused the frame from its header and closed before the junk after it was all sent.
        }
    }

    /// <summary>Reads until the server closes the socket: true when it did (end of stream or reset), with the bytes before it.</summary>
    public static async Task<byte[]> ReadToCloseAsync(Socket socket)
    {
        var received = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, Ct).AsTask().Within();
                if (n == 0)
                {
                    break;
                }
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            // The server closed with our unread junk in its buffer: the kernel reports a reset. Closed all the same.
        }
        return received.ToArray();
    }

    /// <summary>One request/response on a healthy connection, checked.</summary>
    public static async Task RoundTripAsync(PipeConnection healthy, string text)
    {
        Assert.Equal(text, await healthy.RequestAsync(text, Ct).AsTask().Within());
    }

    /// <summary>Bytes allocated by the whole process (every thread) so far.</summary>
    public static long AllocatedBytes() => GC.GetTotalAllocatedBytes(precise: true);

    /// <summary>Open file descriptors of this process (Linux); -1 elsewhere.</summary>
    public static int OpenFileDescriptors() => Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : -1;

    /// <summary>Managed heap after a full, compacting collection.</summary>
    public static long ManagedHeapAfterFullGc()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>python3 on PATH (the kill and second-user tests drive raw socket clients with it), or null.</summary>
    public static string? Python3()
    {
        foreach (string candidate in new[] { "/usr/bin/python3", "/usr/local/bin/python3" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        try
        {
            using Process? p = Process.Start(new ProcessStartInfo("python3", ["-c", "import sys; print(sys.executable)"]) { RedirectStandardOutput = true });
            if (p is null)
            {
                return null;
            }
            string path = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && path.Length > 0 ? path : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}

/// <summary>An echo server that records the errors it contained, each with the connection it closed.</summary>
internal sealed class RecordingServer : IAsyncDisposable
{
    private readonly List<PipeServerErrorEventArgs> _errors = [];
    private readonly Channel<PipeServerErrorEventArgs> _queue = Channel.CreateUnbounded<PipeServerErrorEventArgs>();

    public RecordingServer(string name, PipeServerOptions options, bool text = false)
    {
        Server = PipeServer.Listen(name, options);
        Server.Error += (_, e) =>
        {
            lock (_errors)
            {
                _errors.Add(e);
            }
            _queue.Writer.TryWrite(e);
        };
        Running = text
            ? Server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult(request))
            : Server.ServeRequestsAsync((request, _) => ValueTask.FromResult(request.Payload));
    }

    public PipeServer Server { get; }

    public Task Running { get; }

    /// <summary>Every error reported so far.</summary>
    public IReadOnlyList<PipeServerErrorEventArgs> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Waits (boundedly) for the next error the server reports.</summary>
    public Task<PipeServerErrorEventArgs> NextErrorAsync() => _queue.Reader.ReadAsync(TestContext.Current.CancellationToken).Within();

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync(TimeSpan.Zero).Within();
        await Running.Within();
    }
}
