namespace NPipes;

/// <summary>Where a <see cref="PipeClient"/> is, as far as it has observed.</summary>
public enum PipeClientState
{
    /// <summary>No connection: not yet connected, or lost with automatic reconnection off.</summary>
    Disconnected,

    /// <summary>Connecting (the first time, or reconnecting after a loss).</summary>
    Connecting,

    /// <summary>Connected, as of the last operation: a server that went away is noticed by the next operation.</summary>
    Connected,

    /// <summary>Disposed; final.</summary>
    Closed,
}
