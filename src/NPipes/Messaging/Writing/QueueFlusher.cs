using System.Runtime.CompilerServices;

namespace NPipes.Messaging.Writing;

/// <summary>
/// Writes a <see cref="SendQueue"/>'s bytes to the stream, chunk after chunk (each chunk is everything queued when it was
/// taken, so many small frames cost one write). Two ways: as a thread-pool work item that owns the write side while there
/// is something queued (the background flush, which the queue schedules), or for a caller that already owns it.
/// </summary>
internal sealed class QueueFlusher : IThreadPoolWorkItem
{
    private readonly SendQueue _queue;
    private readonly Stream _stream;
    private readonly Action _onWriteCompleted;
    private ValueTask _pendingWrite;
    private int _pendingCount;

    public QueueFlusher(SendQueue queue, Stream stream)
    {
        _queue = queue;
        _stream = stream;
        _onWriteCompleted = OnWriteCompleted;
    }

    /// <summary>The caller owns the write side: writes the queue until it is empty, keeping ownership.</summary>
    /// <exception cref="IOException">The write failed, or an earlier one did (the caller records it).</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteQueuedAsOwnerAsync(bool sync)
    {
        while (_queue.TryTake(out byte[] chunk, out int count))
        {
            if (sync)
            {
                _stream.Write(chunk, 0, count);
            }
            else
            {
                await _stream.WriteAsync(chunk.AsMemory(0, count)).ConfigureAwait(false);
            }
            _queue.AddWritten(count);
        }
    }

    /// <summary>The background flush: owns the write side while there is something queued.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        if (_queue.TryStartBackground())
        {
            BackgroundLoop();
        }
    }

    /// <summary>Writes chunk after chunk; when a write has to wait, continues from its completion (no allocation either way).</summary>
    private void BackgroundLoop()
    {
        while (_queue.TryTakeOrRelease(out byte[] chunk, out int count))
        {
            ValueTask write;
            try
            {
                write = _stream.WriteAsync(chunk.AsMemory(0, count));
            }
            catch (Exception e)
            {
                FailAndRelease(e);
                return;
            }
            if (!write.IsCompleted)
            {
                _pendingWrite = write;
                _pendingCount = count;
                write.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onWriteCompleted);
                return;
            }
            if (!Complete(write, count))
            {
                return;
            }
        }
    }

    private void OnWriteCompleted()
    {
        ValueTask write = _pendingWrite;
        _pendingWrite = default;
        if (Complete(write, _pendingCount))
        {
            BackgroundLoop();
        }
    }

    private bool Complete(ValueTask write, int count)
    {
        try
        {
            write.GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            FailAndRelease(e);
            return false;
        }
        _queue.AddWritten(count);
        return true;
    }

    private void FailAndRelease(Exception error)
    {
        _queue.Fail(error);
        _queue.Release();
    }
}
