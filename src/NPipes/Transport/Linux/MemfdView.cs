using System.Buffers;
using System.Collections.Concurrent;

namespace NPipes.Transport;

/// <summary>
/// A received payload's read-only mapping (docs/shared-memory.md §4.5). Views are pooled: <see cref="Release"/> unmaps
/// and returns this object, so a steady stream of received messages allocates no view. There is deliberately no
/// finalizer (CA2015): a span of the payload does not keep its view alive, so a finalizer could unmap memory that code
/// is still reading. A message never disposed stays mapped until the process exits.
/// </summary>
internal sealed unsafe class MemfdView : SharedMemoryView
{
    private const int PoolLimit = 32;
    private static readonly ConcurrentQueue<MemfdView> Pool = new();

    private nint _address;
    private int _length;

    /// <summary>A view of the mapping at <paramref name="address"/> (which it now owns).</summary>
    public static MemfdView Rent(nint address, int length)
    {
        if (!Pool.TryDequeue(out MemfdView? view))
        {
            view = new MemfdView();
        }
        view._address = address;
        view._length = length;
        return view;
    }

    public override void Release()
    {
        Unmap();
        if (Pool.Count < PoolLimit)
        {
            Pool.Enqueue(this);
        }
    }

    public override Span<byte> GetSpan() =>
        _address != 0 ? new Span<byte>((void*)_address, _length) : throw new ObjectDisposedException(nameof(PipeMessage), "The message was disposed and its shared memory unmapped; copy the payload with ToArray() to keep it.");

    public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)_address + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing) => Unmap();

    private void Unmap()
    {
        nint address = Interlocked.Exchange(ref _address, 0);
        if (address != 0)
        {
            MemfdNative.munmap(address, (nuint)_length);
        }
    }
}
