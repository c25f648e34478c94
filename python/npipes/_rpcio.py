"""Frames on a Connection for one reader thread and one writer thread at once.

A Connection's own send/recv set a socket timeout per call, which on Unix
switches the shared socket between blocking and non-blocking mode; two
threads doing that at once would steal each other's timeouts.  So on Unix
the RPC engine takes the Connection's socket over, keeps it non-blocking
for good and waits with poll(): the reader's timeout never touches the
writer, and shutdown() wakes both.  The frame codec is message.py's.
On Windows the overlapped handle already gives every operation its own
wait, so the Connection is used as it is.
"""

import select
import socket
import time

from . import transport
from ._util import Deadline, typed_os_error
from .errors import (ConnectionClosedError, IncompleteFrameError,
                     NPipesError)
from .message import FrameDecoder, encode_frame

__all__ = ['frame_io', 'raw_socket']


def raw_socket(conn):
    """The socket under a Unix Connection (None on Windows).

    Reaches into the connection: npipes' Stream has no public accessor.
    """
    stream = getattr(conn, '_stream', None)
    sock = getattr(stream, '_sock', None)
    return sock if isinstance(sock, socket.socket) else None


def frame_io(conn):
    """A frame reader/writer over *conn* (an open npipes Connection)."""
    if conn.closed:
        raise ConnectionClosedError('the connection is already closed',
                                    reason='closed')
    sock = raw_socket(conn)
    if transport.PLATFORM == 'windows':
        return _ConnectionFrames(conn)
    if sock is None:      # the Stream changed shape: fail loudly, not subtly
        raise RuntimeError('npipes internal error: no socket under the '
                           'Unix connection (npipes._unixsock.Stream._sock)')
    return _SocketFrames(conn, sock)


def _nosignal():
    from ._unixsock import _MSG_NOSIGNAL
    return _MSG_NOSIGNAL


class _SocketFrames:
    """Unix: a non-blocking socket, poll() for every wait."""

    def __init__(self, conn, sock):
        self._conn = conn
        self._sock = sock
        sock.setblocking(False)
        self._fd = sock.fileno()
        self._flags = _nosignal()
        self._decoder = FrameDecoder(crc=conn.crc, endian=conn.endian,
                                     max_payload=conn.max_payload)
        self._frame = dict(crc=conn.crc, endian=conn.endian,
                           max_payload=conn.max_payload)
        self.frame_started = None      # monotonic time of a frame's first byte
        # One poll object per direction: the reader and the writer each
        # use only their own.
        self._readable = select.poll()
        self._readable.register(self._fd, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(self._fd, select.POLLOUT)

    @staticmethod
    def _wait(poller, timeout):
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return bool(poller.poll(ms))

    def recv(self, timeout=None):
        """One payload.  PipeTimeoutError after *timeout* seconds (a partial
        frame is kept for the next call); ConnectionClosedError at a clean
        end, IncompleteFrameError if the peer left mid-frame."""
        deadline, decoder = Deadline(timeout), self._decoder
        while True:
            try:
                n = self._sock.recv_into(decoder.want())
            except (BlockingIOError, InterruptedError):
                if not self._wait(self._readable, deadline.remaining('receive')):
                    deadline.remaining('receive')      # raises at the deadline
                continue
            except ConnectionResetError:
                n = 0
            except OSError as exc:
                raise typed_os_error(exc) from exc
            if n == 0:
                if decoder.in_frame:
                    raise IncompleteFrameError(
                        'peer closed the pipe in the middle of a frame')
                raise ConnectionClosedError('peer closed the pipe')
            if self.frame_started is None:
                self.frame_started = time.monotonic()
            payload = decoder.advance(n)
            if payload is not None:
                self.frame_started = None
                return payload

    #: send_some() never blocks: a caller may write before the writer thread.
    direct = True

    def encode(self, payload):
        """The frame for *payload* (what send() and send_some() take)."""
        return encode_frame(payload, **self._frame)

    def send_some(self, view):
        """Write what the kernel takes now; return the rest (a memoryview)."""
        try:
            n = self._sock.send(view, self._flags)
        except (BlockingIOError, InterruptedError):
            return view
        except OSError as exc:
            raise typed_os_error(exc) from exc
        return view[n:]

    def send(self, view):
        """Write all of *view*, waiting for room; only shutdown() (or the
        peer leaving) ends a wait."""
        while view:
            rest = self.send_some(view)
            if len(rest) == len(view):
                self._wait(self._writable, None)
            view = rest

    def shutdown(self):
        """Wake a thread waiting in recv() or send(): both then fail."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self):
        self._conn.close()


class _ConnectionFrames:
    """Windows: the Connection itself (overlapped I/O, one wait per call)."""

    def __init__(self, conn):
        self._conn = conn
        self.frame_started = None

    def recv(self, timeout=None):
        try:
            return self._conn.recv(timeout)
        finally:
            self.frame_started = getattr(self._conn, '_frame_started', None)

    direct = False

    def encode(self, payload):
        return payload                 # Connection.send frames it

    def send(self, payload):
        self._conn.send(bytes(payload))

    def shutdown(self):
        # Closing the handle ends the reads and writes pending on it.
        try:
            self._conn.close()
        except NPipesError:
            pass

    def close(self):
        self._conn.close()
