"""Shared memory on Linux for one connected Unix socket (docs/shared-memory.md
§3-§5, §8): the files that arrive beside the bytes (SCM_RIGHTS), sends
that carry one, and the socket's send queue (SIOCOUTQ); the memfds
themselves are _memfd.py's.

Offered through ``Stream.capabilities().shared_memory`` where the system
has memfds; the frames and the rules of when to use them are the
connection's (_shmlink.py).
"""

from __future__ import annotations

import array
import collections
import fcntl
import os
import socket
import struct
import termios
from typing import Callable, Deque, List, Tuple, Union

from . import _memfd
from ._shmframe import Descriptor
from ._shmring import Memory
from ._util import Deadline, typed_os_error, typed_os_errors
from .errors import SharedMemoryError

__all__ = ['MemfdPort']

_MSG_NOSIGNAL: int = getattr(socket, 'MSG_NOSIGNAL', 0)
_INT = array.array('i').itemsize
#: Room for a few descriptors in every read (more than one is refused, but
#: must be received to be closed rather than cut: MSG_CTRUNC).
_FDS_ROOM = socket.CMSG_SPACE(4 * _INT)


#: ``wait(write, deadline, what)``: until the socket is ready, or
#: PipeTimeoutError at *deadline* (the Stream's own wait).
WaitFn = Callable[[bool, Deadline, str], None]


def _close_all(fds: Union[Deque[int], List[int]]) -> None:
    while fds:
        try:
            os.close(fds.pop())
        except OSError:
            pass


class MemfdPort:
    """Shared-memory operations on one connected AF_UNIX socket, both
    _util.RingPort and _util.FilePort: reads that collect the files
    arriving beside the bytes, and sends that carry one (the ring's file
    with its first slot's frame, §8)."""

    def __init__(self, sock: socket.socket, wait: WaitFn) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._wait = wait
        #: Files received and not yet claimed by a descriptor frame.
        self.queued: Deque[int] = collections.deque()
        #: The memfds themselves (_memfd.py): a payload's file and its
        #: mapping, one holding a payload, the ring's, a received one mapped.
        self.create, self.write_file = _memfd.create, _memfd.write_file
        self.create_ring, self.map_file = _memfd.create_ring, _memfd.map_file

    @property
    def files(self) -> MemfdPort:
        """Files travel beside the frames (kind 1, and the ring's with its
        first slot's frame): this port hands them over."""
        return self

    # -- receiving (§4) ----------------------------------------------------
    def _take_fds(self, ancdata: List[Tuple[int, int, bytes]],
                  flags: int) -> None:
        got: List[int] = []
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array('i')
                fds.frombytes(data[:len(data) - len(data) % _INT])
                got.extend(fds)
        if flags & socket.MSG_CTRUNC or len(got) > 1:
            _close_all(got)
            self.discard()
            raise SharedMemoryError(
                'shared memory: one read brought more than one file'
                if not flags & socket.MSG_CTRUNC else
                'shared memory: a control message was cut (MSG_CTRUNC)')
        self.queued.extend(got)

    def recv_into(self, view: memoryview) -> int:
        """Read into *view* (blocking), keeping the file that arrives;
        OSError is the caller's to translate."""
        n, ancdata, flags, _ = self._sock.recvmsg_into(
            [view], _FDS_ROOM, socket.MSG_CMSG_CLOEXEC)
        if ancdata or flags & socket.MSG_CTRUNC:
            self._take_fds(ancdata, flags)
        return n

    @typed_os_errors
    def recv_until(self, view: memoryview, deadline: Deadline) -> int:
        """:meth:`recv_into` that gives up at *deadline*
        (PipeTimeoutError); OSError translated."""
        flags = socket.MSG_CMSG_CLOEXEC
        if deadline.timeout is not None:
            flags |= socket.MSG_DONTWAIT
        while True:
            try:
                n, ancdata, mflags, _ = self._sock.recvmsg_into(
                    [view], _FDS_ROOM, flags)
            except BlockingIOError:
                self._wait(False, deadline, 'receive')
                continue
            if ancdata or mflags & socket.MSG_CTRUNC:
                self._take_fds(ancdata, mflags)
            return n

    def take_file(self) -> int:
        """The file of the descriptor frame just completed (§4.1): exactly
        one must have arrived with it."""
        if len(self.queued) != 1:
            count = len(self.queued)
            self.discard()
            raise SharedMemoryError(
                'shared memory: a descriptor frame arrived without its file'
                if count == 0 else
                f'shared memory: {count} files arrived with one descriptor '
                f'frame')
        return self.queued.popleft()

    def no_file(self) -> None:
        """An ordinary frame completed: no file may have come with it."""
        if self.queued:
            self.discard()
            raise SharedMemoryError('shared memory: a file arrived with a '
                                    'frame that is not a descriptor frame')

    @staticmethod
    def close_file(fd: int) -> None:
        """Close a file this port handed out."""
        os.close(fd)

    def discard(self) -> None:
        """Close every queued file."""
        _close_all(self.queued)

    def take_ring(self, found: Descriptor) -> Tuple[Memory, Memory, int]:
        """The ring's file, which came with the kind-2 frame *found*
        (flags bit 0), checked (§8) and mapped."""
        return _memfd.map_ring(self.take_file())

    # -- sending (§3, §8) ----------------------------------------------------
    @typed_os_errors
    def send_file(self, fd: int, frame: bytes, deadline: Deadline) -> None:
        """Seal *fd* (its mapping already closed), send *frame* with it in
        one sendmsg (the rest, if the socket took part, as ordinary
        writes), close it; *fd* is closed whatever happens."""
        flags = _MSG_NOSIGNAL
        if deadline.timeout is not None:
            flags |= socket.MSG_DONTWAIT
        try:
            while True:
                try:
                    sent = self._offer(fd, frame, flags)
                    break
                except BlockingIOError:
                    self._wait(True, deadline, 'send')
        finally:
            os.close(fd)
        self._send_rest(memoryview(frame)[sent:], flags, deadline)

    @typed_os_errors
    def send_frame(self, frame: bytes, deadline: Deadline) -> None:
        """Send *frame*, a descriptor frame carrying no file."""
        flags = _MSG_NOSIGNAL
        if deadline.timeout is not None:
            flags |= socket.MSG_DONTWAIT
        self._send_rest(memoryview(frame), flags, deadline)

    def _send_rest(self, view: memoryview, flags: int,
                   deadline: Deadline) -> None:
        while view:
            try:
                view = view[self._sock.send(view, flags):]
            except BlockingIOError:
                self._wait(True, deadline, 'send')

    def offer_file(self, fd: int, frame: bytes) -> int:
        """One non-blocking sendmsg of *frame* carrying *fd*, sealed first
        (asyncio's send): the bytes sent, BlockingIOError if none; *fd*
        stays open (the caller closes it)."""
        try:
            return self._offer(fd, frame, _MSG_NOSIGNAL | socket.MSG_DONTWAIT)
        except BlockingIOError:
            raise
        except OSError as exc:
            raise typed_os_error(exc) from exc

    def _offer(self, fd: int, frame: bytes, flags: int) -> int:
        _memfd.seal(fd)
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                   array.array('i', [fd]).tobytes())]
        return self._sock.sendmsg([frame], rights, flags)

    @typed_os_errors
    def queue_empty(self) -> bool:
        """Whether the peer has read everything sent (SIOCOUTQ == 0)."""
        (left,) = struct.unpack('i', fcntl.ioctl(
            self._fd, termios.TIOCOUTQ, struct.pack('i', 0)))
        return bool(left == 0)

