namespace NPipes.Diagnostics;

/// <summary>
/// Message and byte counts of one pipe name: the totals of its closed connections plus the live fields of its open
/// ones. Connections register here when they open and fold their counts in when they close, under one lock, so a
/// collected sum never goes back.
/// </summary>
internal sealed class PipeCounts(string pipeName)
{
    private readonly Lock _gate = new();
    private readonly HashSet<ConnectionTelemetry> _open = [];
    private Totals _closed;

    /// <summary>The <c>npipes.pipe.name</c> tag, made once.</summary>
    public KeyValuePair<string, object?> Tag { get; } = new(NPipesTags.PipeName, pipeName);

    /// <summary>A snapshot of the counts.</summary>
    public readonly record struct Totals(long Active, long MessagesSent, long BytesSent, long MessagesReceived, long BytesReceived);

    public void Opened(ConnectionTelemetry connection)
    {
        lock (_gate)
        {
            _open.Add(connection);
        }
    }

    public void Closed(ConnectionTelemetry connection)
    {
        lock (_gate)
        {
            if (_open.Remove(connection))
            {
                _closed = Add(_closed, connection);
            }
        }
    }

    public Totals Sum()
    {
        lock (_gate)
        {
            Totals sum = _closed with { Active = _open.Count };
            foreach (ConnectionTelemetry connection in _open)
            {
                sum = Add(sum, connection);
            }
            return sum;
        }
    }

    private static Totals Add(Totals sum, ConnectionTelemetry c) => sum with
    {
        MessagesSent = sum.MessagesSent + Volatile.Read(ref c.Tally.MessagesSent),
        BytesSent = sum.BytesSent + Volatile.Read(ref c.Tally.BytesSent),
        MessagesReceived = sum.MessagesReceived + Volatile.Read(ref c.Tally.MessagesReceived),
        BytesReceived = sum.BytesReceived + Volatile.Read(ref c.Tally.BytesReceived),
    };
}
