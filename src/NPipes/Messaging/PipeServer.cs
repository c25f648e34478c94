using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using NPipes.Diagnostics;
using NPipes.Messaging;
using NPipes.Transport;

namespace NPipes;

/// <summary>
/// A server on one pipe name serving many clients at once, each connection independently: a client that never sends,
/// stops half-way through a frame, or sends garbage affects only its own connection.
/// </summary>
/// <remarks>
/// <para>Use it handler-based (<see cref="RunAsync"/>, <see cref="ServeRequestsAsync(Func{PipeMessage, CancellationToken, ValueTask{ReadOnlyMemory{byte}}}, CancellationToken)"/>)
/// or pull-based (<see cref="AcceptAsync"/>, <see cref="AcceptAllAsync"/>), not both.</para>
/// <para>Connection limit: a client beyond <see cref="PipeServerOptions.MaxConnections"/> is accepted and closed at once,
/// before any byte is read or written, and counted in <see cref="RefusedConnections"/>. That client's connect succeeds;
/// then its first receive ends the connection: on Unix a clean end of stream (<see cref="PipeConnection.ReceiveAsync"/>
/// returns null) or, if it had already written, <see cref="ConnectionClosedException"/> (the OS reports a reset); on
/// Windows <see cref="ConnectionClosedException"/> or null. A send may appear to succeed (the bytes are discarded) or fail
/// with <see cref="ConnectionClosedException"/>; a request always fails with <see cref="ConnectionClosedException"/>.
/// Nothing the refused client sent is ever processed.</para>
/// <para>Errors: a handler that throws, or a connection that fails, is reported through <see cref="Error"/> and its
/// connection is closed; the server keeps serving the others.</para>
/// </remarks>
public sealed partial class PipeServer : IAsyncDisposable
{
    private readonly PipeListener _listener;
    private readonly SemaphoreSlim _acceptLock = new(1, 1); // the listener serves one accept at a time
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _aborting = new();
    private readonly ConcurrentDictionary<PipeConnection, IdleWatchStream?> _connections = new();
    private readonly ConcurrentDictionary<PipeConnection, Task> _handlers = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _acceptLoopDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Timer? _watchdog;
    private readonly PipeTelemetry _telemetry;
    private Task? _stopTask;
    private int _active;
    private long _refused;
    private int _running;

    private PipeServer(string pipeName, PipeServerOptions options, PipeListener listener)
    {
        PipeName = pipeName;
        Options = options;
        _listener = listener;
        _telemetry = PipeTelemetry.For(pipeName, options);
        listener.AccessRefused = _telemetry.RefusedByAccess;
        _telemetry.Listening(options.MaxConnections);
        if (options.IdleTimeout != Timeout.InfiniteTimeSpan || options.WriteTimeout != Timeout.InfiniteTimeSpan || options.FrameTimeout != Timeout.InfiniteTimeSpan)
        {
            // One timer scans every connection, a few times per timeout: cheaper than a timer per read.
            static long Ticks(TimeSpan t) => t == Timeout.InfiniteTimeSpan ? long.MaxValue : t.Ticks;
            long shortest = Math.Min(Ticks(options.IdleTimeout), Math.Min(Ticks(options.WriteTimeout), Ticks(options.FrameTimeout)));
            TimeSpan period = TimeSpan.FromTicks(Math.Clamp(shortest / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
            _watchdog = new Timer(static s => ((PipeServer)s!).CloseIdleConnections(), this, period, period);
        }
    }

    /// <summary>Starts listening on <paramref name="pipeName"/> (the name is held from now until the server stops).</summary>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    /// <exception cref="PipeNameInUseException">Another live server holds the name.</exception>
    /// <exception cref="PlatformNotSupportedException"><see cref="NPipesOptions.SharedMemory"/> is set where there is none (docs/shared-memory.md §7).</exception>
    public static PipeServer Listen(string pipeName, PipeServerOptions? options = null)
    {
        options ??= PipeServerOptions.Default;
        NPipesOptions connection = options.Connection;
        PipeConnection.ThrowIfNoSharedMemory(connection);
        PipeListener listener = PipeListener.Create(pipeName, new ListenOptions(connection.Access, connection.TrustedServers, connection.PipeBufferSize, MaxInstances: -1));
        return new PipeServer(pipeName, options, listener);
    }

    /// <summary>Raised for every error the server contained (handler exceptions, failed connections, failed accepts).
    /// Raised on the connection's own thread; an exception thrown by a subscriber is ignored so the server keeps running.</summary>
    public event EventHandler<PipeServerErrorEventArgs>? Error;

    /// <summary>The pipe name.</summary>
    public string PipeName { get; }

    /// <summary>The options in force.</summary>
    public PipeServerOptions Options { get; }

    /// <summary>Connections open now (accepted and not yet closed).</summary>
    public int ActiveConnections => Volatile.Read(ref _active);

    /// <summary>Clients refused because <see cref="PipeServerOptions.MaxConnections"/> were open.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refused);

    /// <summary>Fires when the server begins to stop; handlers get it as their token.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Waits for the next client. The connection counts against the limit until it is closed: dispose it when done.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The server is stopping or stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async ValueTask<PipeConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            await _acceptLock.WaitAsync(linked.Token).ConfigureAwait(false);
            try
            {
                while (true)
                {
                    Stream stream = await _listener.AcceptAsync(linked.Token).ConfigureAwait(false);
                    if (Interlocked.Increment(ref _active) <= Options.MaxConnections)
                    {
                        return Track(stream);
                    }
                    // Over the limit: close before reading or writing anything, so nothing of this client is processed.
                    Interlocked.Decrement(ref _active);
                    Interlocked.Increment(ref _refused);
                    _telemetry.RefusedByLimit(stream);
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                _acceptLock.Release();
            }
        }
        catch (Exception e) when (_stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException($"The pipe server on '{PipeName}' is stopping.", e);
        }
    }

    /// <summary>Every client as it connects, until the server stops or <paramref name="cancellationToken"/> fires (then the sequence just ends).</summary>
    public async IAsyncEnumerable<PipeConnection> AcceptAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            PipeConnection connection;
            try
            {
                connection = await AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (_stopping.IsCancellationRequested)
            {
                yield break;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
            yield return connection;
        }
    }

    private PipeConnection Track(Stream stream)
    {
        IdleWatchStream? watch = Options.IdleTimeout == Timeout.InfiniteTimeSpan && Options.WriteTimeout == Timeout.InfiniteTimeSpan ? null : new IdleWatchStream(stream);
        var connection = new PipeConnection(watch ?? stream, stream as ITransportStream, PipeName, Options.Connection, _telemetry);
        _telemetry.Accepted(connection.Telemetry);
        _connections[connection] = watch;
        connection.SetClosedCallback(OnConnectionClosed);
        return connection;
    }

    private void OnConnectionClosed(PipeConnection connection)
    {
        if (_connections.TryRemove(connection, out _))
        {
            Interlocked.Decrement(ref _active);
        }
        if (_stopping.IsCancellationRequested && _connections.IsEmpty)
        {
            _drained.TrySetResult();
        }
    }

    private void ReportError(PipeConnection? connection, Exception exception)
    {
        _telemetry.Failed(connection?.Telemetry, exception);
        try
        {
            Error?.Invoke(this, new PipeServerErrorEventArgs(connection, exception));
        }
        catch (Exception)
        {
            // A failing subscriber must not take the server down; the error itself was delivered to it.
        }
    }
}
