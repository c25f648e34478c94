using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace NPipes.Hosting.Tests;

/// <summary>
/// The core library's logs, metrics and activities, observed with a capturing logger provider, a real MeterListener
/// (on a meter factory of the test's own) and an ActivityListener.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggers;
    private readonly MeasurementLog _measured;
    private readonly string _name = Bounded.NewName();

    public TelemetryTests()
    {
        _loggers = _logs.Factory();
        _measured = new MeasurementLog(Meters);
    }

    private IMeterFactory Meters => _metrics.GetRequiredService<IMeterFactory>();

    private PipeServerOptions ServerOptions => new() { LoggerFactory = _loggers, MeterFactory = Meters, DrainTimeout = Bounded.Patience };

    private NPipesOptions ClientOptions => new() { Timeout = Bounded.Patience, MeterFactory = Meters };

    public void Dispose()
    {
        _measured.Dispose();
        _loggers.Dispose();
        _metrics.Dispose();
    }

    [Fact]
    public async Task Requests_are_logged_and_counted_with_the_pipe_name()
    {
        PipeServer server = PipeServer.Listen(_name, ServerOptions);
        Task serving = server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult(request + "!"), Bounded.Ct);
        LogEntry listening = await _logs.WaitForAsync(1);
        Assert.Equal(LogLevel.Information, listening.Level);
        Assert.Equal("ServerListening", listening.EventId.Name);
        Assert.Equal(_name, listening["PipeName"]);

        await using (PipeConnection client = await PipeConnection.ConnectAsync(_name, ClientOptions, Bounded.Ct))
        {
            for (int i = 0; i < 10; i++)
            {
                Assert.Equal($"r{i}!", await client.RequestAsync($"r{i}", Bounded.Ct));
            }
            Assert.Equal(2, _measured.Observe("npipes.connections.active", _name)); // both ends are in this process
        }
        LogEntry accepted = await _logs.WaitForAsync(3);
        Assert.Equal(LogLevel.Debug, accepted.Level);
        Assert.Equal(Environment.ProcessId, accepted["PeerPid"]);
        await _logs.WaitForAsync(5, e => e["DisconnectReason"] is DisconnectReason.PeerClosed);
        await Bounded.UntilAsync(() => _measured.Observe("npipes.connections.active", _name) == 0, "no open connection");

        // Ten requests each way: "rN" (2 bytes) out, "rN!" (3 bytes) back, 12 bytes of framing each.
        Assert.Equal(20, _measured.Observe("npipes.messages.sent", _name));
        Assert.Equal(20, _measured.Observe("npipes.messages.received", _name));
        Assert.Equal(10 * (14 + 15), _measured.Observe("npipes.bytes.sent", _name));
        Assert.Equal(10 * (14 + 15), _measured.Observe("npipes.bytes.received", _name));
        Assert.Equal(1, _measured.Sum("npipes.connections.accepted", _name));
        IReadOnlyList<MeasurementLog.Measured> durations = _measured.Of("npipes.request.duration", _name);
        Assert.Equal(10, durations.Count(m => Equals(m.Tags["npipes.request.side"], "client")));
        Assert.Equal(10, durations.Count(m => Equals(m.Tags["npipes.request.side"], "server")));
        Assert.All(durations, m => Assert.True(m.Value > 0));
        Assert.Equal("s", durations[0].Instrument.Unit);
        await Bounded.UntilAsync(() => _measured.Of("npipes.connection.duration", _name).Count == 2, "both connection durations");
        Assert.Contains(_measured.Of("npipes.connection.duration", _name), m => Equals(m.Tags["npipes.disconnect.reason"], "peer_closed"));

        await server.StopAsync(Bounded.Patience, Bounded.Ct);
        await serving.WaitAsync(Bounded.Patience, Bounded.Ct);
        Assert.Equal(LogLevel.Information, (await _logs.WaitForAsync(2)).Level);
    }

    [Fact]
    public async Task A_client_over_the_limit_is_logged_and_counted_as_refused()
    {
        await using PipeServer server = PipeServer.Listen(_name, ServerOptions with { MaxConnections = 1 });
        Task serving = server.RunAsync(async (connection, stopping) => await connection.ReceiveAsync(stopping), Bounded.Ct);
        await using PipeConnection first = await PipeConnection.ConnectAsync(_name, ClientOptions, Bounded.Ct);
        await _logs.WaitForAsync(3);
        await using PipeConnection second = await PipeConnection.ConnectAsync(_name, ClientOptions, Bounded.Ct);

        LogEntry refused = await _logs.WaitForAsync(4);
        Assert.Equal(LogLevel.Warning, refused.Level);
        Assert.Equal("connection_limit", refused["RefusalReason"]);
        Assert.Equal(Environment.ProcessId, refused["PeerPid"]);
        MeasurementLog.Measured counted = Assert.Single(_measured.Of("npipes.connections.refused", _name));
        Assert.Equal(1, counted.Value);
        Assert.Equal("connection_limit", counted.Tags["npipes.refusal.reason"]);
        Assert.Equal(1, server.RefusedConnections);
    }

    [Fact]
    public async Task A_frame_error_is_logged_with_its_type_and_counted()
    {
        // The server checks CRCs; the client writes none (0 in the field), so the server sees a CRC mismatch.
        await using PipeServer server = PipeServer.Listen(_name, ServerOptions with { Connection = new NPipesOptions().WithCrc(true) });
        Task serving = server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult(request), Bounded.Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(_name, ClientOptions, Bounded.Ct);
        await client.SendAsync("no crc here", Bounded.Ct);
        await client.FlushAsync(Bounded.Ct);

        LogEntry error = await _logs.WaitForAsync(6);
        Assert.Equal(LogLevel.Warning, error.Level);
        Assert.Equal("crc_mismatch", error["ErrorType"]);
        Assert.IsType<CrcMismatchException>(error.Exception);
        Assert.Equal(Environment.ProcessId, error["PeerPid"]);
        await Bounded.UntilAsync(() => _measured.Of("npipes.frame.errors", _name).Count == 1, "the frame error to be counted");
        Assert.Equal("crc_mismatch", _measured.Of("npipes.frame.errors", _name)[0].Tags["error.type"]);
        LogEntry closed = await _logs.WaitForAsync(5);
        Assert.Equal(DisconnectReason.ProtocolError, closed["DisconnectReason"]);
        Assert.Empty(_logs.WithId(7)); // a peer's bad frame is not the handler's fault
    }

    [Fact]
    public async Task Invalid_text_in_a_text_request_is_a_frame_error_of_type_invalid_text()
    {
        await using PipeServer server = PipeServer.Listen(_name, ServerOptions);
        Task serving = server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult(request), Bounded.Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(_name, ClientOptions, Bounded.Ct);
        await client.SendAsync(new byte[] { 0xff, 0xfe }, Bounded.Ct); // not ASCII

        LogEntry error = await _logs.WaitForAsync(6);
        Assert.Equal("invalid_text", error["ErrorType"]);
        await Bounded.UntilAsync(() => _measured.Of("npipes.frame.errors", _name).Count == 1, "the frame error to be counted");
        Assert.Equal("invalid_text", _measured.Of("npipes.frame.errors", _name)[0].Tags["error.type"]);
    }

    [Fact]
    public async Task A_handler_exception_is_logged_as_an_error()
    {
        await using PipeServer server = PipeServer.Listen(_name, ServerOptions);
        Task serving = server.ServeRequestsAsync((string _, CancellationToken _) => throw new InvalidOperationException("boom"), Bounded.Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(_name, ClientOptions, Bounded.Ct);
        await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.RequestAsync("x", Bounded.Ct));

        LogEntry failed = await _logs.WaitForAsync(7);
        Assert.Equal(LogLevel.Error, failed.Level);
        Assert.Equal("boom", failed.Exception?.Message);
    }

    [Fact]
    public async Task A_client_logs_its_state_changes_and_failed_reconnect_attempts()
    {
        PipeServer server = PipeServer.Listen(_name, ServerOptions with { DrainTimeout = TimeSpan.Zero });
        Task serving = server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult(request), Bounded.Ct);
        var options = new PipeClientOptions
        {
            Connection = ClientOptions,
            LoggerFactory = _loggers,
            InitialReconnectDelay = TimeSpan.FromMilliseconds(10),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(20),
        };
        await using var client = new PipeClient(_name, options);
        await client.ConnectAsync(Bounded.Ct);
        Assert.Equal("a", await client.RequestAsync("a", Bounded.Ct));
        await server.StopAsync(TimeSpan.Zero, Bounded.Ct);
        await Assert.ThrowsAnyAsync<NPipesException>(async () => await client.RequestAsync("b", Bounded.Ct));

        await _logs.WaitForAsync(10, e => e["State"] is PipeClientState.Disconnected);
        LogEntry attempt = await _logs.WaitForAsync(11);
        Assert.Equal(LogLevel.Debug, attempt.Level);
        Assert.Equal(1, attempt["Attempt"]);
        Assert.Contains(_logs.WithId(10), e => e["State"] is PipeClientState.Connected);
    }

    [Fact]
    public async Task A_request_starts_a_client_and_a_server_activity_when_someone_listens()
    {
        var activities = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == NPipesTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using PipeServer server = PipeServer.Listen(_name, ServerOptions);
        Task serving = server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult(request), Bounded.Ct);
        await using PipeConnection client = await PipeConnection.ConnectAsync(_name, ClientOptions, Bounded.Ct);
        Assert.Equal("x", await client.RequestAsync("x", Bounded.Ct));

        await Bounded.UntilAsync(() => Mine(activities).Count() == 2, "two activities");
        Assert.Contains(Mine(activities), a => a.Kind == ActivityKind.Client && a.Status == ActivityStatusCode.Ok);
        Assert.Contains(Mine(activities), a => a.Kind == ActivityKind.Server && a.Status == ActivityStatusCode.Ok);
        Assert.All(Mine(activities), a => Assert.Equal(NPipesTelemetry.RequestActivityName, a.OperationName));
    }

    private IEnumerable<Activity> Mine(IEnumerable<Activity> activities) => activities.Where(a => Equals(a.GetTagItem("npipes.pipe.name"), _name));

    [Fact]
    public async Task Without_a_listener_nothing_is_counted()
    {
        await using PipeServer server = PipeServer.Listen(_name, ServerOptions);
        Task serving = server.ServeRequestsAsync((string request, CancellationToken _) => ValueTask.FromResult(request), Bounded.Ct);
        _measured.Dispose(); // detach: the instruments are disabled now
        await using (PipeConnection client = await PipeConnection.ConnectAsync(_name, ClientOptions, Bounded.Ct))
        {
            Assert.Equal("x", await client.RequestAsync("x", Bounded.Ct));
        }
        using var late = new MeasurementLog(Meters);
        Assert.Equal(0, late.Observe("npipes.messages.sent", _name));
        Assert.Equal(0, late.Observe("npipes.messages.received", _name));
    }
}
