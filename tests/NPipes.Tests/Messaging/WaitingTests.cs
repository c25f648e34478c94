using Microsoft.Extensions.Logging;

namespace NPipes.Tests.Messaging;

/// <summary>Waiting for nothing, visibly: a cancelled wait names the pipe, and a connect that finds no server logs WaitingForServer.</summary>
public class WaitingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_cancelled_connect_names_the_pipe_and_logs_that_it_waited_for_a_server()
    {
        string name = TestPipes.NewName();
        var loggers = new EventLoggerFactory();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task<PipeConnection> connecting = PipeConnection.ConnectAsync(name, TestPipes.Options() with { LoggerFactory = loggers }, cts.Token);
        string logged = await loggers.WaitingForServer.Task.WaitAsync(TestPipes.Patience, Ct);
        Assert.Equal($"Waiting for a server on pipe '{name}'", logged);
        await cts.CancelAsync();
        OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connecting);
        Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("waiting for a server", e.Message, StringComparison.Ordinal);
        Assert.Equal(cts.Token, e.CancellationToken);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_cancelled_Ipc_call_names_the_pipe(bool send)
    {
        string name = TestPipes.NewName();
        var ipc = new Ipc(name, TestPipes.Options());
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(50)); // no other side ever comes: whenever it fires, the wait is cancelled
        OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => send ? ipc.SendMessageAsync("never delivered", false, cts.Token) : ipc.ReceiveMessageAsync(false, cts.Token));
        Assert.Contains($"on pipe '{name}' was cancelled", e.Message, StringComparison.Ordinal);
        Assert.Equal(cts.Token, e.CancellationToken);
    }

    /// <summary>Hears the WaitingForServer event (id 12) and its message.</summary>
    private sealed class EventLoggerFactory : ILoggerFactory, ILogger
    {
        public TaskCompletionSource<string> WaitingForServer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 12 && eventId.Name == "WaitingForServer" && logLevel == LogLevel.Debug)
            {
                WaitingForServer.TrySetResult(formatter(state, exception));
            }
        }
    }
}
