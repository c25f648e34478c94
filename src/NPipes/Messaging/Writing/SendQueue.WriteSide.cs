namespace NPipes.Messaging.Writing;

// The write side of the queue: who owns it, taking chunks to write, counting what was written, and what a flush waits for.
internal sealed partial class SendQueue : IWriteSide
{
    /// <summary>Waits until the caller owns the write side (<see cref="TryAcquire"/>, waiting for idle in between).</summary>
    /// <exception cref="IOException">An earlier write failed.</exception>
    public async ValueTask AcquireAsync(bool sync, CancellationToken cancellationToken)
    {
        while (!TryAcquire())
        {
            await WaitAsync(WaitKind.Idle, 0, sync, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The owner writes the queue until it is empty (<see cref="QueueFlusher.WriteQueuedAsOwnerAsync"/>).</summary>
    public ValueTask WriteQueuedAsync(bool sync) => Flusher.WriteQueuedAsOwnerAsync(sync);

    /// <summary>Takes the write side for a caller (a large frame); false while someone else owns it.</summary>
    /// <exception cref="IOException">An earlier write failed.</exception>
    public bool TryAcquire()
    {
        lock (_gate)
        {
            ThrowIfFailedLocked();
            if (_writing)
            {
                return false;
            }
            _writing = true;
            return true;
        }
    }

    /// <summary>The background flush starts: it owns the write side if there is something to write and nobody else writes.</summary>
    public bool TryStartBackground()
    {
        lock (_gate)
        {
            _scheduled = false;
            if (_writing || _buffer.Count == 0 || _failure is not null)
            {
                return false;
            }
            _writing = true;
            return true;
        }
    }

    /// <summary>For the background owner: the next chunk, or false (ownership released) when the queue is empty or failed.</summary>
    public bool TryTakeOrRelease(out byte[] chunk, out int count)
    {
        lock (_gate)
        {
            if (_buffer.Count == 0 || _failure is not null)
            {
                _writing = false;
                _waits.SignalLocked();
                ScheduleLocked();
                (chunk, count) = (Array.Empty<byte>(), 0);
                return false;
            }
            (chunk, count) = TakeLocked();
            return true;
        }
    }

    /// <summary>For a calling owner: the next chunk, or false when the queue is empty (ownership kept).</summary>
    /// <exception cref="IOException">An earlier write failed.</exception>
    public bool TryTake(out byte[] chunk, out int count)
    {
        lock (_gate)
        {
            ThrowIfFailedLocked();
            if (_buffer.Count == 0)
            {
                (chunk, count) = (Array.Empty<byte>(), 0);
                return false;
            }
            (chunk, count) = TakeLocked();
            return true;
        }
    }

    private (byte[] Chunk, int Count) TakeLocked()
    {
        (byte[] Chunk, int Count) taken = _buffer.Take();
        _waits.SignalLocked(); // room for senders waiting on a full queue
        return taken;
    }

    /// <summary>The owner wrote <paramref name="count"/> bytes.</summary>
    public void AddWritten(long count)
    {
        lock (_gate)
        {
            _written += count;
            _waits.SignalLocked();
        }
    }

    /// <summary>The owner gives the write side up; the background flush takes over whatever was queued meanwhile.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _writing = false;
            _waits.SignalLocked();
            ScheduleLocked();
        }
    }

    /// <summary>Queues the background flush if there is something to write and nobody writes.</summary>
    public void Schedule()
    {
        lock (_gate)
        {
            ScheduleLocked();
        }
    }

    private void ScheduleLocked()
    {
        if (!_writing && !_scheduled && _failure is null && _buffer.Count > 0)
        {
            _scheduled = true;
            ThreadPool.UnsafeQueueUserWorkItem(Flusher, preferLocal: false);
        }
    }

    // ---- flushing ----

    /// <summary>What a flush must wait for: every byte accepted so far; -1 when all of it is written already.</summary>
    /// <exception cref="IOException">An earlier write failed.</exception>
    public long FlushTarget()
    {
        lock (_gate)
        {
            ThrowIfFailedLocked();
            return _written >= _enqueued ? -1 : _enqueued;
        }
    }

    /// <summary>As <see cref="FlushTarget"/> for closing, which never throws: -1 also after a failure. Starts the background flush.</summary>
    public long CloseTarget()
    {
        lock (_gate)
        {
            if (_failure is not null || _written >= _enqueued)
            {
                return -1;
            }
            ScheduleLocked();
            return _enqueued;
        }
    }

    /// <inheritdoc cref="WaitList.WaitAsync"/>
    public ValueTask WaitAsync(WaitKind kind, long value, bool sync, CancellationToken cancellationToken) =>
        _waits.WaitAsync(kind, value, sync, cancellationToken);

    /// <summary>Whether the condition a waiter waits for holds (under the lock).</summary>
    public bool IsMetLocked(WaitKind kind, long value) => kind switch
    {
        WaitKind.Room => _buffer.Count == 0 || _buffer.Count + value <= QueueLimit,
        WaitKind.Written => _written >= value,
        _ => !_writing,
    };
}
