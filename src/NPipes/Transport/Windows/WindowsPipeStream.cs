using System.IO.Pipes;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Windows connection stream: a connected named pipe (server or client end) in message mode, where every write is
/// one pipe message; so the messaging layer writes each frame with exactly one write (npipes 1.0.1 reads one message per
/// frame). Reads, writes and disposal pass straight to the pipe.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class WindowsPipeStream(PipeStream pipe, PeerIdentity peer) : Stream, ITransportStream
{
    public bool IsMessageMode => true;

    public PeerIdentity Peer => peer;

    public IDirectSend? DirectSend => null;

    public IDirectReceive? DirectReceive => null;

    private WindowsSharedMemory? _sharedMemory;

    /// <summary>The ring in a section the receiver takes from the peer process the pipe reported (docs/shared-memory.md §9; both builds).</summary>
    public ISharedMemoryTransport? SharedMemory => _sharedMemory ??= new WindowsSharedMemory(peer.ProcessId);

    /// <summary>Waits until the peer has read everything written (the pipe drained). The peer may already have read and closed: that is delivery too.</summary>
    public ValueTask<bool> ConfirmDeliveredAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (pipe.IsConnected)
        {
            try
            {
                pipe.WaitForPipeDrain();
            }
            catch (IOException)
            {
                // The peer has already read and closed: nothing left to drain.
            }
        }
        return ValueTask.FromResult(true);
    }

    public override bool CanRead => pipe.CanRead;
    public override bool CanWrite => pipe.CanWrite;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => pipe.Read(buffer, offset, count);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => pipe.ReadAsync(buffer, offset, count, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => pipe.Write(buffer, offset, count);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => pipe.WriteAsync(buffer, offset, count, cancellationToken);
#if NET
    // Stream has span and memory overloads from .NET Core 2.1 on; netstandard2.0 callers reach the array ones above.
    public override int Read(Span<byte> buffer) => pipe.Read(buffer);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => pipe.ReadAsync(buffer, cancellationToken);
    public override void Write(ReadOnlySpan<byte> buffer) => pipe.Write(buffer);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => pipe.WriteAsync(buffer, cancellationToken);
#endif

    public override void Flush() => pipe.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => pipe.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            pipe.Dispose();
        }
        base.Dispose(disposing);
    }
}
