"""The threaded RPC driver's I/O: FrameIO, frames on a Connection for one
reader and one writer thread at once (the stream's ``duplex`` capability
where it has one: a Unix socket, each wait a poll() of its own, shutdown()
waking both; else the stream itself: a Windows pipe's overlapped handle
gives each call its own wait), and the Outbox.

A message is written at once by the thread that posts it when nothing is
queued and the kernel takes it whole (no thread switch: what a ping-pong
needs); otherwise the writer thread sends it.  So a caller never blocks on
a peer that stops reading: it waits only, up to its deadline, while
OUTBOX_LIMIT bytes are queued.  A call's request not yet taken by a writer
can be withdrawn (its caller timed out): it is then never sent.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
from typing import Callable, Deque, Optional, Tuple

from ._jsonrpc import JsonValue
from ._session import CLOSED_HERE, Timeouts, closed_here, peer_gone
from ._util import Buffer, Deadline, Duplex
from .connection import Connection
from .errors import ConnectionClosedError, NPipesError, PipeOSError
from .message import FrameDecoder, encode_frame

__all__ = ['FrameIO', 'Outbox', 'OUTBOX_LIMIT', 'Call']

_FOREVER = Deadline(None)


class FrameIO:
    """A frame reader/writer for one reader thread and one writer thread."""

    def __init__(self, conn: Connection) -> None:
        stream = conn.transport_stream
        if stream is None:
            raise ConnectionClosedError('the connection is already closed',
                                        reason=CLOSED_HERE)
        self._conn, self._stream = conn, stream
        make = stream.capabilities().duplex
        self._duplex: Optional[Duplex] = None if make is None else make()
        #: send_some() never blocks: a poster may write before the writer.
        self.direct = self._duplex is not None
        self._crc, self._endian = conn.crc, conn.endian
        self._max_payload = conn.max_payload
        # One read takes what has come (a small frame's header and payload
        # together, a syscall less per message); not with shared memory on,
        # whose files belong to one frame each (as in Connection).
        self._decoder = FrameDecoder(
            crc=conn.crc, endian=conn.endian, max_payload=conn.max_payload,
            read_ahead=getattr(conn, 'shared_memory', None) is None)
        #: The connection's idle and frame timeouts, and when the frame
        #: being received started: what the engine's read limit comes from.
        self.clock = Timeouts(conn.idle_timeout, conn.frame_timeout)

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """One payload.  PipeTimeoutError after *timeout* seconds (a partial
        frame is kept for the next call); ConnectionClosedError at a clean
        end, IncompleteFrameError if the peer left mid-frame."""
        decoder, duplex = self._decoder, self._duplex
        payload = decoder.take()             # read ahead by an earlier recv
        if payload is not None:
            self.clock.frame_done(decoder.in_frame)
            return payload
        deadline = Deadline(timeout)
        while True:
            view = decoder.want()
            if duplex is not None:
                n = duplex.recv_into(view, deadline)
            else:
                try:
                    n = self._stream.recv_into(view, deadline)
                except ConnectionClosedError:
                    n = 0                      # a reset: the peer is gone
                except PipeOSError:
                    self._closed_here()
                    raise
            if n == 0:
                raise peer_gone(decoder.in_frame)
            payload = decoder.advance(n)
            if payload is not None:
                self.clock.frame_done(decoder.in_frame)
                return payload
            self.clock.bytes_arrived()

    def encode(self, payload: bytes) -> bytes:
        """The frame for *payload* (what send() and send_some() take)."""
        return encode_frame(payload, crc=self._crc, endian=self._endian,
                            max_payload=self._max_payload)

    def send_some(self, view: memoryview) -> memoryview:
        """Write what can be written now; return the rest (``direct``)."""
        assert self._duplex is not None, 'send_some() needs two-thread I/O'
        return self._duplex.send_some(view)

    def send(self, view: Buffer) -> None:
        """Write all of *view* (only shutdown() or the peer ends a wait)."""
        if self._duplex is not None:
            self._duplex.send(view)
            return
        try:
            self._stream.send(bytes(view), _FOREVER)
        except PipeOSError:
            self._closed_here()
            raise

    def _closed_here(self) -> None:
        """After an OS error: if this side closed the connection (shutdown()
        closes the handle to end the other thread's call: on Windows that
        call fails with ERROR_INVALID_HANDLE or ERROR_OPERATION_ABORTED),
        the quiet end it is (closed_here()), not an error to report."""
        if self._conn.closed:
            raise closed_here() from None

    def shutdown(self) -> None:
        """Wake a thread waiting in recv() or send(): both then fail."""
        if self._duplex is not None:
            self._duplex.shutdown()
            return
        # Closing the handle ends the reads and writes pending on it.
        try:
            self._conn.close()
        except NPipesError:
            pass

    def close(self) -> None:
        self._conn.close()


#: Bytes of frames queued for the writer before posters wait for room (one
#: frame is always let in, however large).
OUTBOX_LIMIT = 32 * 1024 * 1024


class Call:
    """A call's answer, set once (the engine's pending table has one
    owner); ``sent``: a writer took its request (the peer may have it);
    ``withdrawn``: its caller gave up before that.  A held lock is all it
    needs (concurrent.futures.Future builds a Condition and more per call);
    :meth:`wake` releases it without an answer: the caller's turn to read
    (_rpcturns)."""

    __slots__ = ('_ready', '_released', '_done', '_result', '_error',
                 'sent', 'withdrawn')

    def __init__(self) -> None:
        self._ready = threading.Lock()
        self._ready.acquire()          # released by the answer or wake()
        self._released = self._done = self.sent = self.withdrawn = False
        self._result: JsonValue = None
        self._error: Optional[BaseException] = None

    def done(self) -> bool:
        return self._done

    def set_result(self, result: JsonValue) -> None:
        self._result = result
        self._set()

    def set_exception(self, exception: BaseException) -> None:
        self._error = exception
        self._set()

    def _set(self) -> None:
        with _SIGNAL:
            self._done = True
            self._release()

    def wake(self) -> None:
        """End a :meth:`wait` without an answer."""
        with _SIGNAL:
            self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._ready.release()

    def wait(self, timeout: Optional[float]) -> bool:
        """Wait up to *timeout* seconds for the answer or :meth:`wake`
        (False: neither came)."""
        if not self._ready.acquire(timeout=-1 if timeout is None
                                   else timeout):
            return False
        with _SIGNAL:                  # re-arm, unless answered
            if self._done:
                self._ready.release()
            else:
                self._released = False
        return True

    def result(self, timeout: Optional[float] = None) -> JsonValue:
        """The outcome, waiting up to *timeout* seconds for it
        (concurrent.futures.TimeoutError after)."""
        if not self._done and not (self.wait(timeout) and self._done):
            raise concurrent.futures.TimeoutError()
        if self._error is not None:
            raise self._error
        return self._result


# Orders a Call's answer and its wake() (either releases the lock once).
_SIGNAL = threading.Lock()


class Outbox:
    """The send side of one connection over *io*: *on_failure(exc)* is
    called if a write fails (the connection is then lost), *on_exit()* when
    the writer thread ends; *closed_error()* is what a post raises after
    :meth:`close`."""

    def __init__(self, io: FrameIO,
                 on_failure: Callable[[NPipesError], object],
                 on_exit: Callable[[], object],
                 closed_error: Callable[[], BaseException],
                 label: str) -> None:
        self._io, self._on_failure, self._on_exit = io, on_failure, on_exit
        self._closed_error = closed_error
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # work, room, the end
        self._queue: Deque[Tuple[memoryview, Optional[Call]]] = \
            collections.deque()
        self._bytes = 0
        self._writing = False          # a thread is writing a frame now
        self._closed = self._flush = False   # flush: send the queue first
        self._thread = threading.Thread(target=self._write_loop, daemon=True,
                                        name=f'npipes-rpc-writer {label}')
        self._thread.start()

    def post(self, data: bytes, call: Optional[Call] = None,
             deadline: Optional[Deadline] = None,
             force: bool = False) -> None:
        """Send one message after those posted before it.  Waits (up to
        *deadline*) while OUTBOX_LIMIT bytes are queued, unless *force*."""
        frame = memoryview(self._io.encode(data))
        with self._lock:
            while not force and not self._closed and self._queue and \
                    self._bytes + len(frame) > OUTBOX_LIMIT:
                self._cond.wait(None if deadline is None
                                else deadline.remaining('send'))
            if self._closed:
                raise self._closed_error()
            if not self._io.direct or self._queue or self._writing:
                self._queue.append((frame, call))
                self._bytes += len(frame)
                self._cond.notify_all()
                return
            self._writing = True
            if call is not None:
                call.sent = True
        try:
            rest: Optional[memoryview] = self._io.send_some(frame)
        except NPipesError as exc:
            rest = None
            self._on_failure(exc)
        with self._lock:
            self._writing = False
            if rest:                   # the writer sends the rest, first
                self._queue.appendleft((rest, None))
                self._bytes += len(rest)
            if self._queue or self._closed:    # (else let the writer sleep)
                self._cond.notify_all()

    def withdraw(self, call: Call) -> bool:
        """Give up *call*'s request: True if it will never be sent."""
        with self._lock:
            call.withdrawn = not call.sent
            return call.withdrawn

    def _write_loop(self) -> None:
        try:
            while True:
                with self._lock:
                    while (not self._queue or self._writing) and \
                            not (self._closed and not self._writing):
                        self._cond.wait()
                    if not (self._queue and (self._flush or
                                             not self._closed)):
                        return
                    frame, call = self._queue.popleft()
                    self._bytes -= len(frame)
                    self._cond.notify_all()
                    if call is not None and call.withdrawn:
                        continue
                    if call is not None:
                        call.sent = True
                    self._writing = True
                try:
                    self._io.send(frame)
                except NPipesError as exc:
                    self._on_failure(exc)
                    return
                finally:
                    with self._lock:
                        self._writing = False
        finally:
            self._on_exit()

    def close(self, flush: bool = False) -> None:
        """Refuse new messages; the writer stops (after the queue if *flush*)."""
        with self._lock:
            if not self._closed:
                self._closed, self._flush = True, flush
                self._cond.notify_all()

    def join(self, timeout: Optional[float]) -> None:
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
