using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.CodeAnalysis;

namespace System.IO;

/// <summary>
/// .NET Core 2.1's span and memory overloads of <see cref="Stream"/> for netstandard2.0, over the array overloads (which
/// NPipes' own streams override). Memory over an array (every buffer NPipes reads into or writes from is one) passes
/// straight through; other memory goes through a pooled copy. A write is always ONE array write, so a frame stays one
/// message on a message-mode pipe. A span read takes at most <see cref="MaxCopy"/> bytes at a time (a read may return
/// fewer bytes than asked): the framework's pool keeps nothing larger, and a large payload read a piece at a time
/// must not cost a payload-sized array per piece.
/// </summary>
[Embedded]
internal static class StreamPolyfills
{
    private const int MaxCopy = 1024 * 1024;

    extension(Stream stream)
    {
        public int Read(Span<byte> buffer)
        {
            int count = Math.Min(buffer.Length, MaxCopy);
            byte[] rented = ArrayPool<byte>.Shared.Rent(count);
            try
            {
                int n = stream.Read(rented, 0, count);
                rented.AsSpan(0, n).CopyTo(buffer);
                return n;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        public void Write(ReadOnlySpan<byte> buffer)
        {
            byte[] rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
            try
            {
                buffer.CopyTo(rented);
                stream.Write(rented, 0, buffer.Length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            MemoryMarshal.TryGetArray(buffer, out ArraySegment<byte> segment)
                ? new ValueTask<int>(stream.ReadAsync(segment.Array!, segment.Offset, segment.Count, cancellationToken))
                : ReadCopyAsync(stream, buffer, cancellationToken);

        public ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            MemoryMarshal.TryGetArray(buffer, out ArraySegment<byte> segment)
                ? new ValueTask(stream.WriteAsync(segment.Array!, segment.Offset, segment.Count, cancellationToken))
                : WriteCopyAsync(stream, buffer, cancellationToken);
    }

    private static async ValueTask<int> ReadCopyAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int count = Math.Min(buffer.Length, MaxCopy);
        byte[] rented = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            int n = await stream.ReadAsync(rented, 0, count, cancellationToken).ConfigureAwait(false);
            rented.AsMemory(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static async ValueTask WriteCopyAsync(Stream stream, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            buffer.CopyTo(rented);
            await stream.WriteAsync(rented, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
