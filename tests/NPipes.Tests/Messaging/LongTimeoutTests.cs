using NPipes.Transport;

namespace NPipes.Tests.Messaging;

/// <summary>
/// Any timeout from zero to infinite is honoured (docs/reliability.md, "Timeouts"): one longer than a timer can run at
/// once (49.7 days) is timed in steps, and one past the monotonic clock's range (TimeSpan.MaxValue, 1e10 s) never fires.
/// Nothing here waits for a timeout: each test proves a long timeout has not fired by completing the operation after
/// the other side appears.
/// </summary>
public class LongTimeoutTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<TimeSpan> LongTimeouts => new()
    {
        TimeSpan.FromDays(50),            // past the 49.7-day timer limit
        TimeSpan.FromSeconds(1e10),       // the CLI's --timeout 1e10: overflowed the deadline's clock arithmetic
        TimeSpan.MaxValue,
    };

    [Theory]
    [MemberData(nameof(LongTimeouts))]
    public void A_long_deadline_has_not_expired_and_links_a_token_that_has_not_fired(TimeSpan timeout)
    {
        Deadline deadline = Deadline.After(timeout);
        Assert.False(deadline.HasExpired);
        using CancellationTokenSource? source = deadline.Link(Ct, out CancellationToken token);
        Assert.False(token.IsCancellationRequested);
        Assert.True(deadline.IsInfinite || deadline.Remaining > TimeSpan.FromDays(49));
    }

    [Fact]
    public void A_zero_deadline_has_expired_and_a_negative_timeout_is_refused()
    {
        Assert.True(Deadline.After(TimeSpan.Zero).HasExpired);
        Assert.Throws<ArgumentOutOfRangeException>(() => Deadline.After(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NPipesOptions { Timeout = TimeSpan.FromSeconds(-1) });
        Assert.Equal(TimeSpan.Zero, new NPipesOptions { Timeout = TimeSpan.Zero }.Timeout);
    }

    [Theory]
    [MemberData(nameof(LongTimeouts))]
    public async Task ConnectAsync_with_a_long_timeout_waits_for_a_server_that_appears_later(TimeSpan timeout)
    {
        string name = TestPipes.NewName();
        Task<PipeConnection> connecting = PipeConnection.ConnectAsync(name, new NPipesOptions { Timeout = timeout }, Ct);
        Assert.False(connecting.IsCompleted); // no server yet: before the fix this had already failed with TimeoutException
        var (server, running) = Servers.StartEcho(name, new PipeServerOptions());
        await using (server)
        {
            await using PipeConnection client = await connecting.Within();
            using PipeMessage reply = await client.RequestAsync("hi"u8.ToArray(), timeout, Ct).Within();
            Assert.Equal("hi"u8.ToArray(), reply.Payload.ToArray());
        }
        await running.Within();
    }

    [Theory]
    [MemberData(nameof(LongTimeouts))]
    public async Task Ipc_with_a_long_timeout_receives_a_message_sent_later(TimeSpan timeout)
    {
        string name = TestPipes.NewName();
        var receiver = new Ipc(name, new NPipesOptions { Timeout = timeout });
        Task<string> receiving = receiver.ReceiveMessageAsync(cancellationToken: Ct);
        Assert.False(receiving.IsCompleted); // before the fix: ArgumentOutOfRangeException (50 days) or TimeoutException, at once
        await new Ipc(name, TestPipes.Options()).SendMessageAsync("late", cancellationToken: Ct).WaitAsync(TestPipes.Patience, Ct);
        Assert.Equal("late", await receiving.Within());
    }

    [Fact]
    public async Task A_reconnecting_client_with_a_long_timeout_waits_for_its_server()
    {
        string name = TestPipes.NewName();
        var options = new PipeClientOptions { Connection = new NPipesOptions { Timeout = TimeSpan.FromDays(50) } };
        var (server, running) = Servers.StartEcho(name, new PipeServerOptions());
        await using var client = new PipeClient(name, options);
        await client.ConnectAsync(Ct).Within();
        using (PipeMessage first = await client.RequestAsync("one"u8.ToArray(), Ct).Within())
        {
            Assert.Equal("one"u8.ToArray(), first.Payload.ToArray());
        }
        await server.DisposeAsync();
        await running.Within();
        // The client learns of the loss through an operation (that one fails); from then on it reconnects, and a
        // request waits for the new server, up to the 50-day timeout (before the fix: ArgumentOutOfRangeException).
        await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.RequestAsync("lost"u8.ToArray(), Ct).Within());
        Task<PipeMessage> second = Task.Run(async () => await client.RequestAsync("two"u8.ToArray(), Ct), Ct);
        var (again, runningAgain) = Servers.StartEcho(name, new PipeServerOptions());
        await using (again)
        {
            using PipeMessage reply = await second.Within();
            Assert.Equal("two"u8.ToArray(), reply.Payload.ToArray());
        }
        await runningAgain.Within();
    }
}
