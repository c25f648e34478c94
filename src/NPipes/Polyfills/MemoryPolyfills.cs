using System.Buffers;
using System.Text;
using Microsoft.CodeAnalysis;

namespace System.Buffers
{
    /// <summary>.NET Core 3's <c>ArrayBufferWriter&lt;T&gt;</c> for netstandard2.0: an <see cref="IBufferWriter{T}"/> over a growing array.</summary>
    [Embedded]
    internal sealed class ArrayBufferWriter<T>(int initialCapacity) : IBufferWriter<T>
    {
        private T[] _buffer = new T[Math.Max(1, initialCapacity)];
        private int _written;

        public ReadOnlySpan<T> WrittenSpan => _buffer.AsSpan(0, _written);

        public ReadOnlyMemory<T> WrittenMemory => _buffer.AsMemory(0, _written);

        public int WrittenCount => _written;

        public void Advance(int count)
        {
            if (count < 0 || _written + count > _buffer.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(count));
            }
            _written += count;
        }

        public Memory<T> GetMemory(int sizeHint = 0)
        {
            Grow(sizeHint);
            return _buffer.AsMemory(_written);
        }

        public Span<T> GetSpan(int sizeHint = 0)
        {
            Grow(sizeHint);
            return _buffer.AsSpan(_written);
        }

        private void Grow(int sizeHint)
        {
            int needed = Math.Max(sizeHint, 1);
            if (_buffer.Length - _written < needed)
            {
                Array.Resize(ref _buffer, checked(Math.Max(_buffer.Length * 2, _written + needed)));
            }
        }
    }

}

namespace System
{
    // The extension containers live in namespace System, which every file imports (implicit usings).

    /// <summary>.NET Core 3's <c>ReadOnlySequence&lt;T&gt;.FirstSpan</c> for netstandard2.0.</summary>
    [Embedded]
    internal static class SequencePolyfills
    {
        extension<T>(ReadOnlySequence<T> sequence)
        {
            public ReadOnlySpan<T> FirstSpan => sequence.First.Span;
        }
    }

    /// <summary>.NET Core 2.1's span overloads of <see cref="Encoding"/> and .NET 5's <c>Encoding.Latin1</c>, for netstandard2.0.</summary>
    [Embedded]
    internal static unsafe class EncodingPolyfills
    {
        extension(Encoding)
        {
            /// <summary>ISO-8859-1 (code page 28591), built into .NET Framework, .NET Core and Mono.</summary>
            public static Encoding Latin1 => Encoding.GetEncoding(28591);
        }

        extension(Encoding encoding)
        {
            public int GetByteCount(ReadOnlySpan<char> chars)
            {
                fixed (char* c = chars)
                {
                    return chars.IsEmpty ? 0 : encoding.GetByteCount(c, chars.Length);
                }
            }

            public int GetBytes(ReadOnlySpan<char> chars, Span<byte> bytes)
            {
                fixed (char* c = chars)
                fixed (byte* b = bytes)
                {
                    return chars.IsEmpty ? 0 : encoding.GetBytes(c, chars.Length, b, bytes.Length);
                }
            }

            public string GetString(ReadOnlySpan<byte> bytes)
            {
                fixed (byte* b = bytes)
                {
                    return bytes.IsEmpty ? string.Empty : encoding.GetString(b, bytes.Length);
                }
            }

            public string GetString(in ReadOnlySequence<byte> bytes) =>
                bytes.IsSingleSegment ? encoding.GetString(bytes.First.Span) : encoding.GetString(bytes.ToArray());
        }
    }
}
