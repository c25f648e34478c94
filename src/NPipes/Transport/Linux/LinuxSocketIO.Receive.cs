using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NPipes.Transport;

// Receives on the calling thread that do not wait for the peer: what has arrived is taken without a socket-engine
// operation (no thread-pool hop); one recvmsg can fill two buffers (the rest of a payload, then the small fields after
// it); and a receive may spin briefly for a reply about to arrive.
internal sealed partial class LinuxSocketIO
{
    /// <summary>The longest a receive spins before the caller parks on the socket engine (bounds the CPU an idle wait burns).</summary>
    internal static readonly TimeSpan SpinLimit = TimeSpan.FromMicroseconds(40);

    private static readonly long SpinTicks = (long)(SpinLimit.TotalSeconds * Stopwatch.Frequency);
    private static readonly bool Multicore = Environment.ProcessorCount > 1;

    /// <summary>After this many receives in a row that found nothing (or spins that gave up), only every <see cref="ProbeEvery"/>th one tries.</summary>
    private const int EmptyBeforeBackoff = 4;
    private const int ProbeEvery = 8;

    private int _emptyInRow;      // receives in a row that found nothing at once
    private int _sinceLook;       // receives since the last one that looked, while backing off
    private int _missesInRow;     // spins in a row that gave up
    private int _sinceSpin;       // receives since the last spin, while backing off

    /// <summary>Spins that got data (tests and diagnostics).</summary>
    internal long SpinHits { get; private set; }

    /// <summary>Spins that gave up, after which the caller parked (tests and diagnostics).</summary>
    internal long SpinMisses { get; private set; }

    /// <summary>Spin on every receive that finds nothing, regardless of the heuristics below (tests).</summary>
    internal bool AlwaysSpin { get; set; }

    /// <inheritdoc/>
    public int TryReceive(Span<byte> first, Span<byte> second, bool spin)
    {
        if (first.IsEmpty && second.IsEmpty)
        {
            throw new ArgumentException("Nothing to receive into.", nameof(first));
        }
        bool spinning = spin && WorthSpinning();
        if (!spinning && _emptyInRow >= EmptyBeforeBackoff && ++_sinceLook < ProbeEvery)
        {
            // The peer never has something ready when we look (a ping-pong that is not spinning): the socket engine's
            // own attempt would repeat this recv, so leave it to the engine.
            _nothingThere = false;
            return -1;
        }
        _sinceLook = 0;
        int n = ReceiveNow(first, second);
        if (n < 0 && spinning)
        {
            n = Spin(first, second);
        }
        _emptyInRow = n < 0 ? _emptyInRow + 1 : 0;
        _nothingThere = n < 0;
        return n;
    }

    /// <summary>
    /// Spinning pays only when the peer is about to answer and a core is free to wait on: not on one core, not while
    /// every core is taken (<see cref="SpareCore"/>) or this process has queued work (the spin would delay it), and only
    /// now and then once spins keep giving up (a peer that does not answer at once, or a connection gone quiet).
    /// </summary>
    private bool WorthSpinning()
    {
        if (AlwaysSpin)
        {
            return true;
        }
        if (!Multicore)
        {
            return false;
        }
        if (_missesInRow >= EmptyBeforeBackoff && ++_sinceSpin < ProbeEvery)
        {
            return false;
        }
        _sinceSpin = 0;
        return SpareCore.Likely && !OtherWorkQueued;
    }

    /// <summary>
    /// This process has work queued that a spin would hold up. One queued item is tolerated: it is usually the socket
    /// engine's notice of bytes that arrived on this very socket (its epoll registration reports every arrival, even
    /// those taken here).
    /// </summary>
    private static bool OtherWorkQueued => ThreadPool.PendingWorkItemCount > 1;

    /// <summary>Tries the receive again until something arrives, the spin limit passes, or other work is queued (then gives way).</summary>
    private int Spin(Span<byte> first, Span<byte> second)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 1; ; i++)
        {
            Thread.SpinWait(10);
            int n = ReceiveNow(first, second);
            if (n >= 0)
            {
                _missesInRow = 0;
                SpinHits++;
                return n;
            }
            if (i % 8 == 0 && !AlwaysSpin && OtherWorkQueued)
            {
                return -1; // not the peer's fault: no backoff
            }
            if (Stopwatch.GetTimestamp() - start >= SpinTicks)
            {
                _missesInRow++;
                SpinMisses++;
                return -1;
            }
        }
    }

    /// <summary>One non-blocking recv (or recvmsg into both buffers). -1: nothing has arrived.</summary>
    private unsafe int ReceiveNow(Span<byte> first, Span<byte> second)
    {
        ObjectDisposedException.ThrowIf(_closed, typeof(UnixSocketStream));
        SafeHandle handle = _socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            fixed (byte* a = first)
            fixed (byte* b = second)
            {
                Native.IoVec* iov = stackalloc Native.IoVec[2];
                iov[0] = new Native.IoVec { Base = a, Length = (nuint)first.Length };
                iov[1] = new Native.IoVec { Base = b, Length = (nuint)second.Length };
                var message = new Native.MsgHdr { Iov = iov, IovLen = 2 };
                while (true)
                {
                    nint n = second.IsEmpty ? Native.recv(fd, a, first.Length, MsgDontWait) : Native.recvmsg(fd, &message, MsgDontWait);
                    if (n >= 0)
                    {
                        // 0 is the peer's close; after our own close (a dispose racing this call) report that instead.
                        ObjectDisposedException.ThrowIf(n == 0 && _closed, typeof(UnixSocketStream));
                        return (int)n;
                    }
                    if (!RetryAfter(Marshal.GetLastPInvokeError(), second.IsEmpty ? "recv" : "recvmsg", fd, PollIn, wait: false))
                    {
                        return -1;
                    }
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
