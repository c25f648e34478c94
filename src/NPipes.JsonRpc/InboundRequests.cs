using StreamJsonRpc;

namespace NPipes;

/// <summary>
/// The requests a server-side handler has read and not yet answered, for a graceful stop: once stopping has begun and
/// none is outstanding, reading ends. One lock orders "a request was read" against "the last answer was written", so a
/// request is either dispatched and answered before the end, or never dispatched.
/// </summary>
internal sealed class InboundRequests
{
    private readonly Lock _gate = new();
    private readonly HashSet<RequestId> _outstanding = [];
    private bool _draining;

    /// <summary>True once stopping began with nothing outstanding: reading has been told to end.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Records a request read; false if reading has already ended (then it must not be dispatched).</summary>
    public bool TryAdd(RequestId id)
    {
        lock (_gate)
        {
            if (Stopped)
            {
                return false;
            }
            _outstanding.Add(id);
            return true;
        }
    }

    /// <summary>Records an answer written; ends reading if that was the last one and stopping has begun.</summary>
    public void Answered(RequestId id, CancellationTokenSource stopReading)
    {
        lock (_gate)
        {
            if (!_outstanding.Remove(id) || !_draining || _outstanding.Count > 0 || Stopped)
            {
                return;
            }
            Stopped = true;
        }
        stopReading.Cancel();
    }

    /// <summary>Begins stopping: ends reading now if nothing is outstanding, otherwise after the last answer.</summary>
    public void Drain(CancellationTokenSource stopReading)
    {
        lock (_gate)
        {
            _draining = true;
            if (_outstanding.Count > 0 || Stopped)
            {
                return;
            }
            Stopped = true;
        }
        stopReading.Cancel();
    }
}
