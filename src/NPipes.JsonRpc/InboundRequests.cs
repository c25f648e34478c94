using StreamJsonRpc;

namespace NPipes;

/// <summary>
/// The peer's requests a handler has read and not yet answered: how many, and how many payload bytes. Reading waits for
/// room under <see cref="NPipesJsonRpcOptions"/>'s bounds (backpressure: the peer's sends wait, nothing fails), and a
/// graceful stop ends reading once none is outstanding. One lock orders "a request was read" against "an answer was
/// written", so a request is either dispatched and answered before the end, or never dispatched.
/// </summary>
internal sealed class InboundRequests(NPipesJsonRpcOptions limits)
{
    private readonly Lock _gate = new();
    // A hostile peer may reuse an id while it is pending: each use counts (the count per id), or the bound would leak.
    private readonly Dictionary<RequestId, (int Count, long Bytes)> _outstanding = [];
    private int _count;
    private long _bytes;
    private TaskCompletionSource? _room; // set while reading waits for an answer to free room
    private bool _draining;

    /// <summary>True once stopping began with nothing outstanding: reading has been told to end.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Requests read and not yet answered (for tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Completes when another request may be read: at once while under both bounds (or nothing is outstanding).</summary>
    public Task WaitForRoomAsync(CancellationToken cancellationToken)
    {
        Task room;
        lock (_gate)
        {
            if (_count == 0 || (_count < limits.MaxPendingRequests && _bytes < limits.MaxPendingRequestBytes))
            {
                return Task.CompletedTask;
            }
            _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            room = _room.Task;
        }
        return room.WaitAsync(cancellationToken);
    }

    /// <summary>Records a request read; false if reading has already ended (then it must not be dispatched).</summary>
    public bool TryAdd(RequestId id, int bytes)
    {
        lock (_gate)
        {
            if (Stopped)
            {
                return false;
            }
            _outstanding[id] = _outstanding.TryGetValue(id, out var entry) ? (entry.Count + 1, entry.Bytes + bytes) : (1, bytes);
            _count++;
            _bytes += bytes;
            return true;
        }
    }

    /// <summary>Records an answer written: frees its room, and ends reading if that was the last one and stopping has begun.</summary>
    public void Answered(RequestId id, CancellationTokenSource stopReading)
    {
        TaskCompletionSource? room;
        bool stop = false;
        lock (_gate)
        {
            if (!_outstanding.TryGetValue(id, out var entry))
            {
                return;
            }
            long freed = entry.Count == 1 ? entry.Bytes : entry.Bytes / entry.Count;
            if (entry.Count == 1)
            {
                _outstanding.Remove(id);
            }
            else
            {
                _outstanding[id] = (entry.Count - 1, entry.Bytes - freed);
            }
            _count--;
            _bytes -= freed;
            room = _room;
            _room = null;
            if (_draining && _count == 0 && !Stopped)
            {
                Stopped = stop = true;
            }
        }
        room?.TrySetResult();
        if (stop)
        {
            stopReading.Cancel();
        }
    }

    /// <summary>Begins stopping: ends reading now if nothing is outstanding, otherwise after the last answer.</summary>
    public void Drain(CancellationTokenSource stopReading)
    {
        lock (_gate)
        {
            _draining = true;
            if (_count > 0 || Stopped)
            {
                return;
            }
            Stopped = true;
        }
        stopReading.Cancel();
    }
}
