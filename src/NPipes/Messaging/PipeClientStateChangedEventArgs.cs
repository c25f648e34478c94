namespace NPipes;

/// <summary>A <see cref="PipeClient"/> changed state.</summary>
public sealed class PipeClientStateChangedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public PipeClientStateChangedEventArgs(PipeClientState previous, PipeClientState current, DisconnectReason reason)
    {
        Previous = previous;
        Current = current;
        Reason = reason;
    }

    /// <summary>The state before.</summary>
    public PipeClientState Previous { get; }

    /// <summary>The state now.</summary>
    public PipeClientState Current { get; }

    /// <summary>Why the last connection ended (on a change away from <see cref="PipeClientState.Connected"/>), else <see cref="DisconnectReason.None"/>.</summary>
    public DisconnectReason Reason { get; }
}
