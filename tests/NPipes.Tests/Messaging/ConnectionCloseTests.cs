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

        client.Dispose();

        foreach (Task t in senders.Concat<Task>(requests))
        {
            Exception? e = await Record.ExceptionAsync(() => t.Within());
            Assert.True(e is null or ConnectionClosedException, $"unexpected {e}");
        }
        Assert.Contains(senders.Concat<Task>(requests), t => t.IsFaulted);
    }
}
