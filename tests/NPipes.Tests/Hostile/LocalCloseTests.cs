using NPipes.Tests.Messaging;

namespace NPipes.Tests.Hostile;

/// <summary>
/// A connection this side closes (Dispose, or the server's idle or write timeout) while a receive waits must fail that
/// receive with <see cref="ConnectionClosedException"/> carrying the real reason. On Linux a socket closed under a pending
/// receive may end it with 0 bytes, which used to read as "the peer closed cleanly" (null: the server's handler saw no
/// error, so an idle timeout went unreported) or, mid-frame, as "the peer died mid-frame" (IncompleteFrameException).
/// </summary>
[Collection(HostileCollection.Name)]
public class LocalCloseTests
{
    [Fact]
    public async Task A_receive_waiting_between_frames_fails_with_the_local_reason_not_a_clean_peer_close()
    {
        using var connection = new PipeConnection(new StallingStream([]), "local", TestPipes.Options());
        Task<PipeMessage?> receive = connection.ReceiveAsync(TestContext.Current.CancellationToken).AsTask();
        Assert.False(receive.IsCompleted);
        connection.CloseWith(DisconnectReason.IdleTimeout);
        var e = await Assert.ThrowsAsync<ConnectionClosedException>(() => receive.Within());
        Assert.Equal(DisconnectReason.IdleTimeout, e.Reason);
        Assert.Equal(DisconnectReason.IdleTimeout, connection.DisconnectReason);
    }

    [Fact]
    public async Task A_receive_waiting_mid_frame_fails_with_the_local_reason_not_a_peer_death()
    {
        byte[] frame = Hostiles.Frame(new byte[100], FrameOptions.Default);
        using var connection = new PipeConnection(new StallingStream(frame[..50]), "local", TestPipes.Options());
        Task<PipeMessage?> receive = connection.ReceiveAsync(TestContext.Current.CancellationToken).AsTask();
        Assert.False(receive.IsCompleted);
        connection.Dispose();
        var e = await Assert.ThrowsAsync<ConnectionClosedException>(() => receive.Within());
        Assert.Equal(DisconnectReason.LocalClose, e.Reason);
    }

    [Fact]
    public async Task A_peer_that_really_closes_still_gives_null_and_PeerClosed()
    {
        var stream = new StallingStream([]);
        using var connection = new PipeConnection(stream, "local", TestPipes.Options());
        Task<PipeMessage?> receive = connection.ReceiveAsync(TestContext.Current.CancellationToken).AsTask();
        stream.EndOfStream(); // the peer's close: the read returns 0 with the connection still open here
        Assert.Null(await receive.Within());
        Assert.Equal(DisconnectReason.PeerClosed, connection.DisconnectReason);
    }

    /// <summary>Returns <c>first</c>, then a read that waits; disposing the stream (or the peer's close) ends that read with 0 bytes.</summary>
    private sealed class StallingStream(byte[] first) : Stream
    {
        private readonly TaskCompletionSource<int> _stall = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _gaveFirst = first.Length == 0;

        public void EndOfStream() => _stall.TrySetResult(0);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_gaveFirst)
            {
                _gaveFirst = true;
                first.CopyTo(buffer);
                return ValueTask.FromResult(first.Length);
            }
            return new ValueTask<int>(_stall.Task);
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        protected override void Dispose(bool disposing)
        {
            _stall.TrySetResult(0);
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { }
    }
}
