using System.Diagnostics;

namespace NPipes.Messaging;

/// <summary>The span and memory overloads of <see cref="IdleWatchStream"/>, which only the net10.0 build's Stream has.</summary>
internal sealed partial class IdleWatchStream
{
    public override int Read(Span<byte> buffer)
    {
        Volatile.Write(ref _readSince, Stopwatch.GetTimestamp());
        try
        {
            return inner.Read(buffer);
        }
        finally
        {
            Volatile.Write(ref _readSince, 0);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Volatile.Write(ref _readSince, Stopwatch.GetTimestamp());
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _readSince, 0);
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Volatile.Write(ref _writeSince, Stopwatch.GetTimestamp());
        try
        {
            inner.Write(buffer);
        }
        finally
        {
            Volatile.Write(ref _writeSince, 0);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Volatile.Write(ref _writeSince, Stopwatch.GetTimestamp());
        try
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _writeSince, 0);
        }
    }
}
