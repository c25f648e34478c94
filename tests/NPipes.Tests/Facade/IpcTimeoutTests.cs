namespace NPipes.Tests.Facade;

/// <summary>
/// <see cref="NPipesOptions.Timeout"/> bounds a whole <see cref="Ipc"/> operation: meeting the other side and moving the
/// whole message. A peer that starts and then stalls (sends a header and nothing more, or never reads) gets a
/// <see cref="TimeoutException"/> at the deadline, not a wait for as long as the peer likes.
/// </summary>
public class IpcTimeoutTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Short = TimeSpan.FromSeconds(1);

    private static Ipc ShortIpc(string name) => new(name, new NPipesOptions { Timeout = Short });

    /// <summary>
    /// Waits (bounded) for <paramref name="task"/> to fail with the Ipc's own <see cref="TimeoutException"/>, which names
    /// the pipe: a test bound that ran out instead fails the test, and is never mistaken for the library's timeout.
    /// </summary>
    private static async Task<TimeoutException> TimesOutAsync(Task task, string name)
    {
        Task first = await Task.WhenAny(task, Task.Delay(TestPipes.Patience, Ct));
        Assert.True(first == task, $"still running after {TestPipes.Patience.TotalSeconds} s: the {Short.TotalSeconds} s timeout did not bound the operation");
        var e = await Assert.ThrowsAsync<TimeoutException>(() => task);
        Assert.Contains(name, e.Message);
        return e;
    }

    [Fact]
    public async Task ReceiveMessage_from_a_sender_that_stalls_after_the_header_times_out()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        string name = TestPipes.NewName();
        using var peer = StallingPeer.Listen(name);
        Task<System.Net.Sockets.Socket> stalled = peer.AcceptAndSendAsync(StallingPeer.HeaderOnly(), Ct);
        // The synchronous call takes no token: only the timeout can end it.
        Task<string> receiving = Task.Run(() => ShortIpc(name).ReceiveMessage(), Ct);
        await stalled.WaitAsync(TestPipes.Patience, Ct);
        await TimesOutAsync(receiving, name);
    }

    [Fact]
    public async Task ReceiveMessage_as_the_server_times_out_when_the_sender_stalls_after_the_header()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        string name = TestPipes.NewName();
        using var peer = StallingPeer.Client();
        Task<string> receiving = ShortIpc(name).ReceiveMessageAsync(cancellationToken: Ct);
        await Until.PipeExistsAsync(name);
        await peer.ConnectAndSendAsync(name, StallingPeer.HeaderOnly(), Ct);
        await TimesOutAsync(receiving, name);
    }

    [Fact]
    public async Task ReceiveMessages_times_out_on_a_message_that_stalls_after_the_header()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        string name = TestPipes.NewName();
        using var peer = StallingPeer.Listen(name);
        Task<System.Net.Sockets.Socket> stalled = peer.AcceptAndSendAsync(StallingPeer.HeaderOnly(), Ct);
        Task<PipeMessage?> first = Task.Run(async () =>
        {
            await foreach (PipeMessage message in ShortIpc(name).ReceiveMessagesAsync(cancellationToken: Ct))
            {
                return message;
            }
            return null;
        }, Ct);
        await stalled.WaitAsync(TestPipes.Patience, Ct);
        await TimesOutAsync(first, name);
    }

    [Theory]
    [InlineData(10)]               // queued and sent at once: the wait is for the receiver's close
    [InlineData(4 * 1024 * 1024)]  // more than the socket takes: the wait is in the write itself
    public async Task SendMessage_to_a_receiver_that_never_reads_times_out(int size)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a raw AF_UNIX peer");
        string name = TestPipes.NewName();
        using var peer = StallingPeer.Listen(name);
        Task<System.Net.Sockets.Socket> accepted = peer.AcceptAndSendAsync([], Ct);
        Task sending = Task.Run(() => ShortIpc(name).SendMessage(new string('x', size)), Ct);
        await accepted.WaitAsync(TestPipes.Patience, Ct);
        await TimesOutAsync(sending, name);
    }
}
