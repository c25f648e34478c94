using System.Buffers.Binary;

namespace NPipes.Bench;

/// <summary>The NPipes receiving loop of the one-way figures: counts whole messages and checks length and order.</summary>
internal sealed class BenchSink
{
    public async ValueTask<long> ReceiveAsync(PipeConnection connection, long count, int size)
    {
        for (long i = 0; i < count; i++)
        {
            using PipeMessage message = await connection.ReceiveAsync() ?? throw new EndOfStreamException($"sink: the connection ended after {i} of {count} messages");
            Check(message.Payload.Span, i, size);
        }
        return count;
    }

    private static void Check(ReadOnlySpan<byte> payload, long index, int size)
    {
        if (payload.Length != size || (size >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(payload) != (uint)index))
        {
            throw new InvalidDataException($"sink: message {index} has {payload.Length} bytes (expected {size}) or is out of order");
        }
    }

    public static ValueTask FlushAsync(PipeConnection connection) => connection.FlushAsync();
}
