namespace NPipes.Tests.Messaging;

/// <summary>Closing a connection releases everyone blocked on it.</summary>
public class ConnectionCloseTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Disposing_fails_every_blocked_and_queued_sender()
    {
        string name = TestPipes.NewName();
        var options = TestPipes.Options(FrameOptions.Default with { MaxPayloadLength = 8 * 1024 * 1024 });
        await using var server = PipeServer.Listen(name, new PipeServerOptions { Connection = options, DrainTimeout = TimeSpan.Zero });
        Task<PipeConnection> accepting = server.AcceptAsync(Ct).AsTask();
        PipeConnection client = await PipeConnection.ConnectAsync(name, options, Ct);
        await using PipeConnection peer = await accepting.Within(); // never reads: the pipe fills and writers block

        byte[] big = new byte[4 * 1024 * 1024];
        Task[] senders = Enumerable.Range(0, 4).Select(_ => client.SendAsync(big, Ct).AsTask()).ToArray();
        Task<PipeMessage>[] requests = Enumerable.Range(0, 2).Select(_ => client.RequestAsync(big, Ct).AsTask()).ToArray();
        Assert.False(senders[0].IsCompleted && senders[1].IsCompleted); // at least one writer is blocked on the full pipe

        // Which sends finished before Dispose began: only those may have succeeded (a send may complete once queued).
        int disposing = 0;
        Task<bool>[] finishedBefore = senders.Select(t => t.ContinueWith(_ => Volatile.Read(ref disposing) == 0, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)).ToArray();
        Volatile.Write(ref disposing, 1);
        client.Dispose();

        int pendingAtDispose = 0;
        for (int i = 0; i < senders.Length; i++)
        {
            Exception? e = await Record.ExceptionAsync(() => senders[i].Within());
            if (await finishedBefore[i].Within())
            {
                Assert.True(e is null, $"sender {i} failed before Dispose: {e}");
            }
            else
            {
                pendingAtDispose++;
                Assert.True(e is ConnectionClosedException, $"sender {i}, pending at Dispose, ended with {(e is null ? "success" : e.ToString())} instead of ConnectionClosedException");
            }
        }
        Assert.True(pendingAtDispose > 0, "no sender was pending at Dispose");
        foreach (Task<PipeMessage> request in requests) // the peer never answers: every request fails, typed
        {
            await Assert.ThrowsAsync<ConnectionClosedException>(() => request.Within());
        }
    }
}
