using System.Buffers;

namespace NPipes.RpcTests;

/// <summary>
/// NPipes.JsonRpc's reader thread (src/NPipes.JsonRpc/ReaderThread.cs): reads complete on it (so JsonRpc's read loop
/// runs there), a cancelled read completes at once and the reader takes no more, and the thread ends with the
/// connection or on <see cref="ReaderThread.Stop"/>. Not on Windows, where the handler does not use it.
/// </summary>
public sealed class ReaderThreadTests
{
    [Fact]
    public async Task A_read_completes_on_the_reader_thread_with_the_frame()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "NPipes.JsonRpc reads on its own thread only off Windows");
        await using var pair = await Pair.ConnectAsync();
        var reader = new ReaderThread(pair.Client);
        var buffer = new ArrayBufferWriter<byte>();
        // Awaited before the frame is sent, so the read completes later, on the reader thread.
        Task<(int Length, Thread Thread)> continued = ContinuedOnAsync(reader.ReceiveAsync(buffer, Rpc.Ct));
        await pair.Server.SendAsync("hello"u8.ToArray(), Rpc.Ct);
        (int length, Thread continuedOn) = await continued.Bounded();
        Assert.Same(reader.Thread, continuedOn);
        Assert.Equal(5, length);
        Assert.Equal("hello"u8.ToArray(), buffer.WrittenSpan.ToArray());
    }

    [Fact]
    public async Task The_peer_closing_ends_the_read_with_minus_one_and_the_thread()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "NPipes.JsonRpc reads on its own thread only off Windows");
        await using var pair = await Pair.ConnectAsync();
        var reader = new ReaderThread(pair.Client);
        Task<int> read = OffReader(reader.ReceiveAsync(new ArrayBufferWriter<byte>(), Rpc.Ct));
        await pair.Server.DisposeAsync();
        Assert.Equal(-1, await read.Bounded());
        Assert.True(reader.Thread!.Join(Rpc.Patience));
    }

    [Fact]
    public async Task A_cancelled_read_ends_at_once_the_reader_takes_no_more_and_its_thread_ends_with_the_connection()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "NPipes.JsonRpc reads on its own thread only off Windows");
        await using var pair = await Pair.ConnectAsync();
        var reader = new ReaderThread(pair.Client);
        using var cancel = new CancellationTokenSource();
        Task<int> read = OffReader(reader.ReceiveAsync(new ArrayBufferWriter<byte>(), cancel.Token));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.Bounded());
        Assert.Throws<OperationCanceledException>(() => reader.ReceiveAsync(new ArrayBufferWriter<byte>(), Rpc.Ct));
        // The thread either had not taken the read yet (it has ended) or is in its blocking receive, which has no
        // cancellation: closing the connection ends that.
        pair.Client.Dispose();
        Assert.True(reader.Thread!.Join(Rpc.Patience));
    }

    [Fact]
    public async Task Stop_ends_a_thread_waiting_for_the_next_read()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "NPipes.JsonRpc reads on its own thread only off Windows");
        await using var pair = await Pair.ConnectAsync();
        var reader = new ReaderThread(pair.Client);
        Task<int> read = OffReader(reader.ReceiveAsync(new ArrayBufferWriter<byte>(), Rpc.Ct));
        await pair.Server.SendAsync(new byte[] { 1 }, Rpc.Ct);
        Assert.Equal(1, await read.Bounded());
        reader.Stop();
        Assert.True(reader.Thread!.Join(Rpc.Patience));
        Assert.True(pair.Client.IsConnected); // stopping the reader leaves the connection alone
    }

    /// <summary>Awaits <paramref name="read"/> as JsonRpc's loop does (ConfigureAwait(false)) and notes the thread it went on on.</summary>
    private static async Task<(int Length, Thread Thread)> ContinuedOnAsync(ValueTask<int> read)
    {
        int length = await read.ConfigureAwait(false);
        return (length, Thread.CurrentThread);
    }

    /// <summary>
    /// <paramref name="read"/> as a task whose awaiters continue on the pool: a read completes on the reader thread and
    /// runs its continuation there, and a test continuing there could not wait for that thread to end.
    /// </summary>
    private static Task<int> OffReader(ValueTask<int> read)
    {
        var result = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        read.AsTask().ContinueWith(
            t =>
            {
                if (t.IsCanceled)
                {
                    result.SetCanceled();
                }
                else if (t.Exception is { } e)
                {
                    result.SetException(e.InnerExceptions);
                }
                else
                {
                    result.SetResult(t.Result);
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return result.Task;
    }

    /// <summary>A connected pair of NPipes connections on a fresh pipe name.</summary>
    private sealed class Pair(PipeServer listener, PipeConnection server, PipeConnection client) : IAsyncDisposable
    {
        public PipeConnection Server { get; } = server;

        public PipeConnection Client { get; } = client;

        public static async Task<Pair> ConnectAsync()
        {
            string name = Rpc.NewName();
            PipeServer listener = PipeServer.Listen(name, new PipeServerOptions { Connection = Rpc.Options() });
            Task<PipeConnection> accepted = listener.AcceptAsync(Rpc.Ct).AsTask();
            PipeConnection client = await PipeConnection.ConnectAsync(name, Rpc.Options(), Rpc.Ct);
            return new Pair(listener, await accepted.Bounded(), client);
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Server.DisposeAsync();
            await listener.DisposeAsync();
        }
    }
}
