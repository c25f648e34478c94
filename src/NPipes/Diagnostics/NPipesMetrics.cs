using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace NPipes.Diagnostics;

/// <summary>
/// The meter "NPipes" and its instruments: one set per <see cref="IMeterFactory"/> (a host's), else one shared set on a
/// static meter.
/// </summary>
/// <remarks>
/// Messages, bytes and open connections are observable instruments fed by plain per-connection fields
/// (<see cref="ConnectionTelemetry"/>): a send or a receive adds to two fields of its own connection, only while a listener
/// has enabled the instrument, and the sums are made per pipe name when a listener collects. So the hot path never
/// calls into listeners and never contends across connections. The rest (accepts, refusals, frame errors, durations)
/// happen once per connection or request and are recorded directly, after an <see cref="Instrument.Enabled"/> check.
/// </remarks>
internal sealed class NPipesMetrics
{
    private static readonly ConditionalWeakTable<IMeterFactory, NPipesMetrics> ByFactory = new();
    private static readonly Lazy<NPipesMetrics> SharedMetrics = new(() => new NPipesMetrics(new Meter(NPipesTelemetry.MeterName, NPipesTelemetry.Version)));

    // Seconds. Requests on a local pipe take tens of microseconds; connections live from milliseconds to days.
    private static readonly double[] RequestBuckets = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] ConnectionBuckets = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400];

    private readonly ConcurrentDictionary<string, PipeCounts> _pipes = new(StringComparer.Ordinal);

    private NPipesMetrics(Meter meter)
    {
        Meter = meter;
        Active = meter.CreateObservableUpDownCounter("npipes.connections.active", () => Observe(static p => p.Active), "{connection}", "Connections open now (either side).");
        Accepted = meter.CreateCounter<long>("npipes.connections.accepted", "{connection}", "Connections a server accepted.");
        Refused = meter.CreateCounter<long>("npipes.connections.refused", "{connection}", "Clients a server refused (tag npipes.refusal.reason: connection_limit, access).");
        ConnectionDuration = meter.CreateHistogram("npipes.connection.duration", "s", "How long connections stayed open (tag npipes.disconnect.reason).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ConnectionBuckets });
        MessagesSent = meter.CreateObservableCounter("npipes.messages.sent", () => Observe(static p => p.MessagesSent), "{message}", "Messages sent.");
        MessagesReceived = meter.CreateObservableCounter("npipes.messages.received", () => Observe(static p => p.MessagesReceived), "{message}", "Messages received.");
        BytesSent = meter.CreateObservableCounter("npipes.bytes.sent", () => Observe(static p => p.BytesSent), "By", "Bytes of the frames sent (payload and 12 bytes of framing each).");
        BytesReceived = meter.CreateObservableCounter("npipes.bytes.received", () => Observe(static p => p.BytesReceived), "By", "Bytes of the frames received (payload and 12 bytes of framing each).");
        FrameErrors = meter.CreateCounter<long>("npipes.frame.errors", "{error}", "Invalid frames received (tag error.type: crc_mismatch, frame_too_large, length_mismatch, incomplete, invalid_text).");
        RequestDuration = meter.CreateHistogram("npipes.request.duration", "s", "Request to reply (tag npipes.request.side: client, the round trip; server, handling and queueing the reply).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RequestBuckets });
    }

    /// <summary>The instruments on <paramref name="factory"/>'s meter "NPipes", or on the shared meter when it is null.</summary>
    public static NPipesMetrics For(IMeterFactory? factory) => factory is null
        ? SharedMetrics.Value
        : ByFactory.GetValue(factory, static f => new NPipesMetrics(f.Create(new MeterOptions(NPipesTelemetry.MeterName) { Version = NPipesTelemetry.Version })));

    public Meter Meter { get; }
    public ObservableUpDownCounter<long> Active { get; }
    public Counter<long> Accepted { get; }
    public Counter<long> Refused { get; }
    public Histogram<double> ConnectionDuration { get; }
    public ObservableCounter<long> MessagesSent { get; }
    public ObservableCounter<long> MessagesReceived { get; }
    public ObservableCounter<long> BytesSent { get; }
    public ObservableCounter<long> BytesReceived { get; }
    public Counter<long> FrameErrors { get; }
    public Histogram<double> RequestDuration { get; }

    /// <summary>Whether sends are being counted (a listener enabled either send instrument).</summary>
    public bool CountSends => MessagesSent.Enabled || BytesSent.Enabled;

    /// <summary>Whether receives are being counted.</summary>
    public bool CountReceives => MessagesReceived.Enabled || BytesReceived.Enabled;

    /// <summary>The running sums of one pipe name (made on first use, kept so the counters never go back).</summary>
    public PipeCounts Pipe(string pipeName) => _pipes.GetOrAdd(pipeName, static name => new PipeCounts(name));

    private IEnumerable<Measurement<long>> Observe(Func<PipeCounts.Totals, long> pick)
    {
        foreach (PipeCounts pipe in _pipes.Values)
        {
            yield return new Measurement<long>(pick(pipe.Sum()), pipe.Tag);
        }
    }
}
