"""The connected AF_UNIX socket of the Unix transport: the Stream that
carries npipes frames, and the Duplex that npipes.rpc takes it over as.

Connecting (one attempt that never follows a symlink) is _unixknock.py's,
the endpoint protocol built on both _unix.py's (docs/unix-endpoint.md).
"""

from __future__ import annotations

import array
import errno
import fcntl
import select
import socket
import termios
from typing import List, Optional, Sequence, Union

from ._limits import poll_ms
from ._platform import DARWIN, LINUX
from ._util import (Capabilities, Deadline, RawIO, drain, typed_os_error,
                    typed_os_errors)
from .access import UNKNOWN, PeerIdentity
from .errors import ConnectionClosedError, NPipesError

__all__ = ['Stream', 'Duplex', 'SEND_BUFFER_SIZE']

# Sends never raise SIGPIPE: MSG_NOSIGNAL on Linux/BSD, SO_NOSIGPIPE on macOS.
_MSG_NOSIGNAL: int = getattr(socket, 'MSG_NOSIGNAL', 0)
_SO_NOSIGPIPE: Optional[int] = getattr(
    socket, 'SO_NOSIGPIPE', 0x1022 if DARWIN else None)
# One call that must not block (a call with a deadline), whatever the
# socket's mode.
_MSG_DONTWAIT: int = socket.MSG_DONTWAIT
Buffer = Union[bytes, bytearray, memoryview]
# The socket send buffer each Stream asks for (as .NET's UnixSocketStream):
# the default (~200 KB of kernel bookkeeping) holds less than one large
# frame, so a sender stalled on every large frame while its peer hashed or
# copied; the kernel allocates only for bytes in flight.  Measured: 1 MiB
# frames without CRC 0.77-0.83 of raw against 0.48-0.67 (bench/README.md).
SEND_BUFFER_SIZE = 1024 * 1024
# Large messages through sealed memfds (docs/shared-memory.md): Linux.
if LINUX:
    from . import _memfd, _unixshm
    _MEMFD = _memfd.available()
else:
    _MEMFD = False


def _wait_for(fd: int, write: bool, timeout: float) -> None:
    """Wait up to *timeout* seconds until *fd* is readable (or writable)."""
    if hasattr(select, 'poll'):            # no FD_SETSIZE limit
        poller = select.poll()
        poller.register(fd, select.POLLOUT if write else select.POLLIN)
        poller.poll(poll_ms(timeout))
    else:
        ready = [fd]
        select.select([] if write else ready, ready if write else [], ready,
                      timeout)


def _unsent(parts: Sequence[Buffer], sent: int) -> List[memoryview]:
    """What is left of *parts* after the first *sent* bytes went out."""
    left: List[memoryview] = []
    for part in parts:
        view = memoryview(part).cast('B')
        if sent >= len(view):
            sent -= len(view)
        else:
            left.append(view[sent:])
            sent = 0
    return left


class Stream:
    """A connected socket carrying npipes frames (its peer already checked).

    The socket stays in blocking mode for good: a call without a deadline
    is one plain system call, and a call with one uses MSG_DONTWAIT and
    poll, so no call changes the socket's mode (each change would be one
    more system call per send or receive).
    """

    def __init__(self, sock: socket.socket,
                 peer: PeerIdentity = UNKNOWN) -> None:
        self._sock = sock
        #: Who is at the other end, read once when it connected.
        self.peer = peer
        sock.setblocking(True)
        try:        # as much as the system allows (net.core.wmem_max)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                            SEND_BUFFER_SIZE)
        except OSError:
            pass
        self._fd = sock.fileno()
        if _SO_NOSIGPIPE is not None and not _MSG_NOSIGNAL:
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_NOSIGPIPE, 1)
            except OSError:
                pass

    def capabilities(self) -> Capabilities:
        """A gathering write, the socket's own blocking calls (for a call
        without a deadline; the caller translates OSError), the socket
        itself for asyncio, two-thread I/O for npipes.rpc, and (Linux)
        shared memory."""
        sock = self._sock
        return Capabilities(
            send_parts=self.send_parts,
            raw=RawIO(sock.sendall, _MSG_NOSIGNAL, sock.recv_into),
            duplex=lambda: Duplex(sock), socket=sock,
            shared_memory=(lambda: _unixshm.MemfdPort(sock, self._wait))
            if _MEMFD else None)

    def _wait(self, write: bool, deadline: Deadline, what: str) -> None:
        left = deadline.remaining(what)    # PipeTimeoutError when none left
        assert left is not None
        _wait_for(self._fd, write, left)

    # The three calls below run once per frame: they translate OSError
    # themselves rather than through typed_os_errors (one call less).

    def recv_into(self, view: memoryview, deadline: Deadline) -> int:
        """Read into *view*; return the count (0 at EOF).

        A reset (the peer closed without reading what we sent) raises
        ConnectionClosedError, so that it is not mistaken for an EOF.
        With a deadline, bytes already there are returned even when it has
        passed.
        """
        try:
            if deadline.timeout is None:
                return self._sock.recv_into(view)
            while True:
                try:
                    return self._sock.recv_into(view, 0, _MSG_DONTWAIT)
                except BlockingIOError:
                    self._wait(False, deadline, 'receive')
        except NPipesError:
            raise
        except OSError as exc:
            raise typed_os_error(exc) from exc

    def send(self, frame: Buffer, deadline: Deadline) -> None:
        """Write one whole frame (ConnectionClosedError if the peer left)."""
        try:
            if deadline.timeout is None:
                self._sock.sendall(frame, _MSG_NOSIGNAL)
            else:
                self._send_all([memoryview(frame).cast('B')], deadline)
        except NPipesError:
            raise
        except OSError as exc:
            raise typed_os_error(exc) from exc

    def send_parts(self, parts: Sequence[Buffer], deadline: Deadline) -> None:
        """Write one frame given in parts (e.g. header, payload, CRC field)
        with gathering writes: the parts are not copied into one buffer.
        For a small frame one joined buffer and :meth:`send` cost less
        (sendmsg measured ~2 us more per call).
        """
        try:
            self._send_all(parts, deadline)
        except NPipesError:
            raise
        except OSError as exc:
            raise typed_os_error(exc) from exc

    def _send_all(self, parts: Sequence[Buffer], deadline: Deadline) -> None:
        flags = _MSG_NOSIGNAL
        if deadline.timeout is not None:
            flags |= _MSG_DONTWAIT
        while parts:
            try:
                sent = self._sock.sendmsg(parts, (), flags)
            except BlockingIOError:
                self._wait(True, deadline, 'send')
                continue
            parts = _unsent(parts, sent)

    @typed_os_errors
    def finish(self, deadline: Deadline) -> int:
        """Say we are done writing; wait until the peer closes its end.

        Returns how many bytes the peer sent meanwhile (a receiver sends
        none).  A reset (rather than EOF) raises ConnectionClosedError: the
        peer never read our frame.
        """
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                raise
        sent_back = drain(self, deadline)
        if not sent_back and _left_unread(self._sock):
            raise ConnectionClosedError('the peer closed with our frame unread')
        return sent_back

    @typed_os_errors
    def close(self) -> None:
        """Close the socket.  Shut down first: a thread of ours blocked in a
        receive or send on it then wakes (close alone leaves it blocked for
        good, the kernel keeping the socket while a call is in it); the
        peer sees the same end of stream, and unread bytes of its are
        still reported to it at close."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass                       # (not connected any more)
        self._sock.close()


def _left_unread(sock: socket.socket) -> bool:
    """After the peer's end of stream: whether it closed with bytes of
    ours unread.  Its end of stream can come from a shutdown just before its
    close (.NET shuts a socket down to end the operations pending on it), so
    a receiver that refused a frame from its header looks like one that read
    it all.  Linux counts our bytes until the peer has read them (SIOCOUTQ)
    and sets the reset before it frees them at close (SO_ERROR): read in
    this order, neither case is missed (elsewhere SO_ERROR alone)."""
    if LINUX:
        queued = array.array('i', [0])
        fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, queued, True)  # SIOCOUTQ
        if queued[0] > 0:
            return True
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0


class Duplex:
    """The socket taken over for one reader and one writer thread: made
    non-blocking for good, every wait a poll() of its own direction, so the
    reader's timeout never touches the writer and shutdown() wakes both."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        sock.setblocking(False)
        fd = sock.fileno()
        self._readable = select.poll()
        self._readable.register(fd, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(fd, select.POLLOUT)

    @staticmethod
    def _wait(poller: 'select.poll', timeout: Optional[float]) -> bool:
        return bool(poller.poll(poll_ms(timeout)))

    def recv_into(self, view: memoryview, deadline: Deadline) -> int:
        """Read into *view* (0 at EOF or a reset); PipeTimeoutError at
        *deadline* (bytes already there are returned even after it).
        Waits before the first read: a remote call's reply is never there
        yet, and a read that finds nothing costs a syscall."""
        self._wait(self._readable, deadline.left())
        while True:
            try:
                return self._sock.recv_into(view)
            except (BlockingIOError, InterruptedError):
                if not self._wait(self._readable, deadline.remaining('receive')):
                    deadline.remaining('receive')      # raises at the deadline
            except ConnectionResetError:
                return 0
            except OSError as exc:
                raise typed_os_error(exc) from exc

    def send_some(self, view: memoryview) -> memoryview:
        """Write what the kernel takes now; return the rest."""
        try:
            n = self._sock.send(view, _MSG_NOSIGNAL)
        except (BlockingIOError, InterruptedError):
            return view
        except OSError as exc:
            raise typed_os_error(exc) from exc
        return view[n:]

    def send(self, data: Buffer) -> None:
        """Write all of *data*, waiting for room."""
        view = memoryview(data)
        while view:
            rest = self.send_some(view)
            if len(rest) == len(view):
                self._wait(self._writable, None)
            view = rest

    def shutdown(self) -> None:
        """Wake a thread waiting in recv_into() or send(): both then fail."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
