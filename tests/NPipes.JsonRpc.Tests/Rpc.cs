using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>Shared helpers: every test gets its own random pipe name and bounded waits.</summary>
internal static class Rpc
{
    /// <summary>A fresh pipe name no other test uses.</summary>
    public static string NewName() => "nprpc_" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>The longest any single wait in a test may take before the test fails instead of hanging.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Connection options with a bounded connect timeout.</summary>
    public static NPipesOptions Options(bool crc = true) => new NPipesOptions { Timeout = Patience }.WithCrc(crc);

    /// <summary>The test's cancellation token (fires when the test run is aborted).</summary>
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts a JSON-RPC server on a new pipe name, serving <paramref name="configure"/>'s setup per connection.</summary>
    public static RunningServer Serve(Action<JsonRpc, PipeConnection> configure, PipeServerOptions? options = null)
    {
        string name = NewName();
        PipeServer server = PipeServer.Listen(name, options ?? new PipeServerOptions { Connection = Options(), DrainTimeout = TimeSpan.FromSeconds(2) });
        var errors = new List<Exception>();
        server.Error += (_, e) =>
        {
            lock (errors)
            {
                errors.Add(e.Exception);
            }
        };
        Task serving = server.ServeJsonRpcAsync(configure, CancellationToken.None);
        return new RunningServer(name, server, serving, errors);
    }

    /// <summary>Starts a server whose connections each get a new <typeparamref name="T"/> as target.</summary>
    public static RunningServer Serve<T>(PipeServerOptions? options = null)
        where T : new() => Serve((rpc, _) => rpc.AddLocalRpcTarget(new T()), options);

    /// <summary>Connects a client JsonRpc (listening) to <paramref name="name"/>.</summary>
    public static async Task<JsonRpc> ConnectAsync(string name, object? target = null, bool crc = true)
    {
        PipeConnection connection = await PipeConnection.ConnectAsync(name, Options(crc), Ct);
        return connection.AttachJsonRpc(target);
    }

    /// <summary>Awaits <paramref name="task"/>, failing the test instead of hanging if it takes longer than <see cref="Patience"/>.</summary>
    public static Task<T> Bounded<T>(this Task<T> task) => task.WaitAsync(Patience, Ct);

    /// <summary>Awaits <paramref name="task"/>, failing the test instead of hanging if it takes longer than <see cref="Patience"/>.</summary>
    public static Task Bounded(this Task task) => task.WaitAsync(Patience, Ct);

    /// <summary>The repository root.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "NPipes.slnx")))
                {
                    return dir.FullName;
                }
            }
            throw new DirectoryNotFoundException("Cannot find the repository root (NPipes.slnx).");
        }
    }
}

/// <summary>A running JSON-RPC server and the errors it reported.</summary>
internal sealed class RunningServer(string name, PipeServer server, Task serving, List<Exception> errors) : IAsyncDisposable
{
    public string Name { get; } = name;

    public PipeServer Server { get; } = server;

    public Task Serving { get; } = serving;

    public Exception[] Errors
    {
        get
        {
            lock (errors)
            {
                return [.. errors];
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Serving.WaitAsync(Rpc.Patience);
    }
}
