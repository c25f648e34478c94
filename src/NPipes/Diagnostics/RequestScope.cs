using System.Diagnostics;

namespace NPipes.Diagnostics;

/// <summary>
/// One request being timed and traced; the default value (nothing listening) does nothing. Used as
/// <c>using RequestScope scope = telemetry.StartRequest(...)</c>, with <see cref="Complete"/> once the reply is in hand.
/// </summary>
internal readonly struct RequestScope : IDisposable
{
    private readonly PipeTelemetry? _pipe;
    private readonly Activity? _activity;
    private readonly long _started;
    private readonly KeyValuePair<string, object?> _side;

    public RequestScope(PipeTelemetry pipe, Activity? activity, long started, KeyValuePair<string, object?> side)
    {
        _pipe = pipe;
        _activity = activity;
        _started = started;
        _side = side;
    }

    /// <summary>The request succeeded (a scope disposed without it marks its activity as failed).</summary>
    public void Complete() => _activity?.SetStatus(ActivityStatusCode.Ok);

    public void Dispose()
    {
        if (_pipe is null)
        {
            return;
        }
        if (_started != 0)
        {
            _pipe.Metrics.RequestDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, _pipe.Counts.Tag, _side);
        }
        if (_activity is not null)
        {
            if (_activity.Status == ActivityStatusCode.Unset)
            {
                _activity.SetStatus(ActivityStatusCode.Error);
            }
            _activity.Dispose();
        }
    }
}
