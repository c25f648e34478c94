using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NPipes.Hosting.Tests;

/// <summary>NPipes.Hosting in a real generic host: start, serve, inject clients, check health, stop mid-request.</summary>
public sealed class HostTests
{
    private readonly string _name = Bounded.NewName();
    private readonly CapturingLoggerProvider _logs = new();

    private HostApplicationBuilder NewBuilder(Dictionary<string, string?>? settings = null, TimeSpan? shutdownTimeout = null)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Logging.SetMinimumLevel(LogLevel.Trace).AddProvider(_logs);
        builder.Services.AddMetrics();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? Bounded.Patience);
        return builder;
    }

    private static NPipesOptions Client => new() { Timeout = Bounded.Patience };

    [Fact]
    public async Task A_hosted_server_serves_100_requests_logging_and_metering_through_the_host()
    {
        HostApplicationBuilder builder = NewBuilder();
        builder.Services.AddNPipesServer(_name, (string request, CancellationToken _) => ValueTask.FromResult("re:" + request));
        builder.Services.AddHealthChecks().AddNPipesServerCheck(_name);
        using IHost host = builder.Build();
        using var measured = new MeasurementLog(host.Services.GetRequiredService<IMeterFactory>());
        await host.StartAsync(Bounded.Ct);

        await using (PipeConnection client = await PipeConnection.ConnectAsync(_name, Client, Bounded.Ct))
        {
            for (int i = 0; i < 100; i++)
            {
                Assert.Equal($"re:{i}", await client.RequestAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture), Bounded.Ct));
            }
        }
        HealthReport health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Bounded.Ct);
        Assert.Equal(HealthStatus.Healthy, health.Entries["npipes:" + _name].Status);

        // Server side only (the client here has no meter factory): 100 requests in, 100 replies out, 100 timed.
        Assert.Equal(100, measured.Observe("npipes.messages.received", _name));
        Assert.Equal(100, measured.Observe("npipes.messages.sent", _name));
        Assert.Equal(100, measured.Of("npipes.request.duration", _name).Count);
        Assert.Equal(1, measured.Sum("npipes.connections.accepted", _name));
        Assert.Equal("NPipes", Assert.Single(_logs.WithId(1)).Category);
        await _logs.WaitForAsync(5);

        await host.StopAsync(Bounded.Ct);
        await _logs.WaitForAsync(2);
        health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Bounded.Ct);
        Assert.Equal(HealthStatus.Unhealthy, health.Entries["npipes:" + _name].Status);
        await using PipeServer again = PipeServer.Listen(_name);
    }

    [Fact]
    public async Task Stopping_mid_request_lets_the_reply_arrive()
    {
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HostApplicationBuilder builder = NewBuilder();
        builder.Services.AddNPipesServer(_name, async (string request, CancellationToken _) =>
        {
            inHandler.TrySetResult();
            await release.Task;
            return "done:" + request;
        });
        using IHost host = builder.Build();
        await host.StartAsync(Bounded.Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(_name, Client, Bounded.Ct);
        Task<string> reply = client.RequestAsync("slow", Bounded.Ct).AsTask();
        await inHandler.Task.WaitAsync(Bounded.Patience, Bounded.Ct);

        Task stopping = host.StopAsync(Bounded.Ct);
        NPipesHostedServer hosted = host.Services.GetRequiredKeyedService<NPipesHostedServer>(_name);
        await Bounded.UntilAsync(() => !hosted.IsListening, "the server to stop accepting");
        Assert.False(stopping.IsCompleted); // draining: the request in progress holds the stop
        release.SetResult();

        Assert.Equal("done:slow", await reply.WaitAsync(Bounded.Patience, Bounded.Ct));
        await stopping.WaitAsync(Bounded.Patience, Bounded.Ct);
    }

    [Fact]
    public async Task At_the_hosts_shutdown_deadline_a_request_in_progress_is_cancelled_and_the_client_gets_a_typed_error()
    {
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HostApplicationBuilder builder = NewBuilder(shutdownTimeout: TimeSpan.FromMilliseconds(300));
        builder.Services.AddNPipesServer(_name, async (string request, CancellationToken cancellationToken) =>
        {
            inHandler.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken); // never finishes by itself
            return request;
        });
        using IHost host = builder.Build();
        await host.StartAsync(Bounded.Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(_name, Client, Bounded.Ct);
        Task<string> reply = client.RequestAsync("stuck", Bounded.Ct).AsTask();
        await inHandler.Task.WaitAsync(Bounded.Patience, Bounded.Ct);

        await host.StopAsync(Bounded.Ct).WaitAsync(Bounded.Patience, Bounded.Ct);
        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => reply.WaitAsync(Bounded.Patience, Bounded.Ct));
        Assert.Equal(DisconnectReason.PeerClosed, error.Reason);
        Assert.Single(_logs.WithId(100));
    }

    [Fact]
    public async Task Options_come_from_configuration_and_a_di_handler_serves_with_scoped_services()
    {
        HostApplicationBuilder builder = NewBuilder(new Dictionary<string, string?>
        {
            [$"NPipes:Servers:{_name}:MaxConnections"] = "1",
            [$"NPipes:Servers:{_name}:Crc"] = "true",
            [$"NPipes:Clients:{_name}:Crc"] = "true",
            [$"NPipes:Clients:{_name}:ConnectTimeout"] = "00:00:10",
        });
        builder.Services.AddScoped<Greeting>();
        builder.Services.AddNPipesServer<GreetingHandler>(_name, o => o.MaxConnections = 50); // configuration wins
        builder.Services.AddNPipesClient(_name);
        using IHost host = builder.Build();
        await host.StartAsync(Bounded.Ct);

        PipeClient client = host.Services.GetRequiredKeyedService<PipeClient>(_name);
        Assert.True(client.Options.Connection.Frame.Crc);
        await client.ConnectAsync(Bounded.Ct);
        string first = await client.RequestAsync("pipe", Bounded.Ct);
        string second = await client.RequestAsync("again", Bounded.Ct);
        Assert.StartsWith("hello, pipe (scope ", first);
        Assert.StartsWith("hello, again (scope ", second);
        Assert.NotEqual(first[^3..], second[^3..]); // a new scope, so a new Greeting, per request

        NPipesHostedServer hosted = host.Services.GetRequiredKeyedService<NPipesHostedServer>(_name);
        Assert.Equal(1, hosted.Server!.Options.MaxConnections);
        Assert.True(hosted.Server.Options.Connection.Frame.Crc);
        await using PipeConnection over = await PipeConnection.ConnectAsync(_name, Client.WithCrc(true), Bounded.Ct);
        Assert.Null(await over.ReceiveAsync(Bounded.Ct)); // over the limit of 1: closed unread
        await _logs.WaitForAsync(4);
        await host.StopAsync(Bounded.Ct);
    }

    [Fact]
    public async Task A_connection_handler_serves_whole_connections()
    {
        HostApplicationBuilder builder = NewBuilder();
        builder.Services.AddNPipesServer(_name, async (PipeConnection connection, CancellationToken stopping) =>
        {
            while (await connection.ReceiveTextAsync(stopping) is { } text)
            {
                await connection.SendAsync(text.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), stopping);
            }
        });
        using IHost host = builder.Build();
        await host.StartAsync(Bounded.Ct);
        await using (PipeConnection client = await PipeConnection.ConnectAsync(_name, Client, Bounded.Ct))
        {
            Assert.Equal("5", await client.RequestAsync("hello", Bounded.Ct));
            Assert.Equal("3", await client.RequestAsync("abc", Bounded.Ct));
        }
        await host.StopAsync(Bounded.Ct);
    }

    [Fact]
    public async Task A_taken_pipe_name_fails_the_hosts_start()
    {
        await using PipeServer holder = PipeServer.Listen(_name);
        HostApplicationBuilder builder = NewBuilder();
        builder.Services.AddNPipesServer(_name, (string r, CancellationToken _) => ValueTask.FromResult(r));
        using IHost host = builder.Build();
        await Assert.ThrowsAsync<PipeNameInUseException>(() => host.StartAsync(Bounded.Ct));
    }

    [Fact]
    public void Registering_two_servers_on_one_name_is_refused()
    {
        var services = new ServiceCollection();
        services.AddNPipesServer(_name, (string r, CancellationToken _) => ValueTask.FromResult(r));
        Assert.Throws<InvalidOperationException>(() => services.AddNPipesServer(_name, (PipeConnection _, CancellationToken _) => Task.CompletedTask));
        services.AddNPipesClient(_name);
        Assert.Throws<InvalidOperationException>(() => services.AddNPipesClient(_name));
    }

    public sealed class Greeting
    {
        private static int _scopes;

        public int Scope { get; } = Interlocked.Increment(ref _scopes);
    }

    public sealed class GreetingHandler(Greeting greeting) : IPipeRequestHandler
    {
        public ValueTask<string> HandleAsync(string request, CancellationToken cancellationToken) =>
            ValueTask.FromResult($"hello, {request} (scope {greeting.Scope})");
    }
}
