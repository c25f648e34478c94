using NPipes.Tests.Cli;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

/// <summary>
/// docs/unix-endpoint.md §3: anything at the pipe's path that is not a socket (a user's file, locked or not, a symlink of
/// any sort, a FIFO, a directory) makes servers, clients and rendezvous fail at once with
/// <see cref="PipePathOccupiedException"/> naming the path and the kind, and is left exactly as it was. Every call here
/// has no timeout of its own (it would wait forever): "at once" is proven by finishing within the test's patience.
/// </summary>
public class PlantedFileTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NPipesOptions Forever => new() { Timeout = Timeout.InfiniteTimeSpan };

    public static TheoryData<string, string> Kinds => Planted.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public Task A_server_fails_at_once_and_leaves_the_file_alone(string what, string kind) =>
        AssertRefusedAsync(what, kind, name => PipeServer.Listen(name).DisposeAsync().AsTask().GetAwaiter().GetResult());

    [Theory]
    [MemberData(nameof(Kinds))]
    public Task A_listener_fails_at_once_and_leaves_the_file_alone(string what, string kind) =>
        AssertRefusedAsync(what, kind, name => PipeListener.Create(name, new ListenOptions(true, 65536, -1)).Dispose());

    [Theory]
    [MemberData(nameof(Kinds))]
    public Task A_client_fails_at_once_and_leaves_the_file_alone(string what, string kind) =>
        AssertRefusedAsync(what, kind, name => PipeConnection.ConnectAsync(name, Forever, Ct).GetAwaiter().GetResult().DisposeAsync().AsTask().GetAwaiter().GetResult());

    [Theory]
    [MemberData(nameof(Kinds))]
    public Task An_Ipc_sender_fails_at_once_and_leaves_the_file_alone(string what, string kind) =>
        AssertRefusedAsync(what, kind, name => new Ipc(name, Forever).SendMessageAsync("secret", cancellationToken: Ct).GetAwaiter().GetResult());

    [Theory]
    [MemberData(nameof(Kinds))]
    public Task An_Ipc_receiver_fails_at_once_and_leaves_the_file_alone(string what, string kind) =>
        AssertRefusedAsync(what, kind, name => new Ipc(name, Forever).ReceiveMessageAsync(cancellationToken: Ct).GetAwaiter().GetResult());

    [Theory]
    [InlineData("echo")]
    [InlineData("send")]
    [InlineData("receive")]
    public async Task The_CLI_fails_at_once_on_a_FIFO_instead_of_hanging_in_open(string command)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix files at the pipe path");
        string name = TestPipes.NewName();
        using Planted fifo = Planted.Make("FIFO", PipeNames.GetPath(name));
        string before = fifo.Snapshot();
        string[] args = command == "send" ? [command, name, "secret"] : [command, name];

        (int code, _, string err) = await CliProcess.RunAsync(args);

        Assert.NotEqual(0, code);
        Assert.Contains("FIFO", err);
        Assert.Contains(fifo.Path, err);
        Assert.Equal(before, fifo.Snapshot());
    }

    private static async Task AssertRefusedAsync(string what, string kind, Action<string> act)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix files at the pipe path");
        string name = TestPipes.NewName();
        using Planted planted = Planted.Make(what, PipeNames.GetPath(name));
        string before = planted.Snapshot();

        // On a thread of its own, so that a build which blocks (a FIFO's open()) fails this test instead of hanging it.
        var thread = Task.Factory.StartNew(() => act(name), Ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var e = await Assert.ThrowsAsync<PipePathOccupiedException>(() => thread.WaitAsync(TestPipes.Patience, Ct));

        Assert.Equal(planted.Path, e.Path);
        Assert.Equal(kind, e.Kind);
        Assert.Contains(planted.Path, e.Message);
        Assert.Contains(kind, e.Message);
        Assert.Equal(before, planted.Snapshot());
    }
}
