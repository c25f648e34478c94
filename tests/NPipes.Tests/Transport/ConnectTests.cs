using NPipes.Transport;

namespace NPipes.Tests.Transport;

public class ConnectTests
{
    [Fact]
    public async Task Connecting_to_a_missing_server_times_out_with_a_TimeoutException()
    {
        var options = new NPipesOptions { Timeout = TimeSpan.FromMilliseconds(200) };
        var e = await Assert.ThrowsAsync<TimeoutException>(() => PipeConnection.ConnectAsync(TestPipes.NewName(), options, TestContext.Current.CancellationToken));
        Assert.Contains("0.2 s", e.Message);
    }

    [Fact]
    public async Task Connecting_with_a_zero_timeout_fails_at_once_when_no_server()
    {
        var options = new NPipesOptions { Timeout = TimeSpan.Zero };
        await Assert.ThrowsAsync<TimeoutException>(() => PipeConnection.ConnectAsync(TestPipes.NewName(), options, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Connecting_is_cancellable_while_waiting_for_a_server()
    {
        using var cts = new CancellationTokenSource();
        Task<PipeConnection> connecting = PipeConnection.ConnectAsync(TestPipes.NewName(), NPipesOptions.Default, cts.Token); // infinite timeout
        Assert.False(connecting.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connecting);
    }

    [Fact]
    public async Task A_client_waiting_for_a_server_connects_when_it_appears()
    {
        string name = TestPipes.NewName();
        Task<PipeConnection> connecting = PipeConnection.ConnectAsync(name, TestPipes.Options(), TestContext.Current.CancellationToken);
        using var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        await using var server = new PipeConnection(await listener.AcceptAsync(TestContext.Current.CancellationToken), name, TestPipes.Options());
        await using var client = await connecting;
        await client.SendAsync("late server", TestContext.Current.CancellationToken);
        Assert.Equal("late server", await server.ReceiveTextAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Accepting_is_cancellable()
    {
        using var listener = PipeListener.Create(TestPipes.NewName(), new ListenOptions(true, 65536, -1));
        using var cts = new CancellationTokenSource();
        ValueTask<Stream> accepting = listener.AcceptAsync(cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await accepting);
    }

    [Fact]
    public async Task A_client_that_arrives_after_an_accept_was_cancelled_is_closed_with_the_listener()
    {
        // The netstandard2.0 accept cannot be cancelled: it stays pending, takes this client, and was once never closed,
        // so the client waited forever (a PipeClient reconnecting while its server stopped hung a CI run).
        string name = TestPipes.NewName();
        var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        using (var cts = new CancellationTokenSource())
        {
            ValueTask<Stream> accepting = listener.AcceptAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await accepting);
        }
        await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), TestContext.Current.CancellationToken);
        listener.Dispose();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(20)); // a bound for the regression only: the read ends at once when it works
        try
        {
            Assert.Null(await client.ReceiveAsync(bounded.Token)); // end of stream (or a reset, below): never a wait
        }
        catch (ConnectionClosedException)
        {
            // The OS reported a reset: the connection ended too.
        }
    }
}
