using System.Buffers;
using System.Buffers.Binary;

namespace NPipes.Bench;

/// <summary>
/// The NPipes receiving loop of the one-way figures: counts whole messages (CRC-checked by the library when CRC is on)
/// and checks each one's length and sequence number. Uses the allocation-free receive into a reused buffer writer.
/// </summary>
internal sealed class BenchSink
{
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);

    public async ValueTask<long> ReceiveAsync(PipeConnection connection, long count, int size)
    {
        for (long i = 0; i < count; i++)
        {
            _buffer.ResetWrittenCount();
            int length = await connection.ReceiveIntoAsync(_buffer);
            if (length < 0)
            {
                throw new EndOfStreamException($"sink: the connection ended after {i} of {count} messages");
            }
            Check(_buffer.WrittenSpan, i, size);
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
