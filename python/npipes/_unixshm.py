"""Shared memory on Linux for one connected Unix socket (docs/shared-memory.md
§3-§5, §8): sealed memfds, the ring's file, SCM_RIGHTS, and the socket's
send queue (SIOCOUTQ).

Offered through ``Stream.capabilities().shared_memory`` where the system
has memfds; the frames and the rules of when to use them are the
connection's (_shmframe.py, connection.py).
"""

from __future__ import annotations

import array
import collections
import fcntl
import mmap
import os
import socket
import stat
import struct
import sys
import termios
from typing import Callable, Deque, Dict, List, Tuple, Union

from ._shmring import PAGE, Memory, check_ring_size
from ._util import Deadline, typed_os_error, typed_os_errors
from .errors import NPipesError, SharedMemoryError

__all__ = ['available', 'MemfdPort']

Buffer = Union[bytes, bytearray, memoryview]

_MSG_NOSIGNAL: int = getattr(socket, 'MSG_NOSIGNAL', 0)
_INT = array.array('i').itemsize
#: Room for a few descriptors in every read (more than one is refused, but
#: must be received to be closed rather than cut: MSG_CTRUNC).
_FDS_ROOM = socket.CMSG_SPACE(4 * _INT)
#: The seals a received file must have (§4.4) and the ones a sender adds.
_NEEDED = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
_SEALS = _NEEDED | fcntl.F_SEAL_SEAL
#: The ring's (§8): never F_SEAL_WRITE, both sides keep writing.
_RING_NEEDED = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
_RING_SEALS = _RING_NEEDED | fcntl.F_SEAL_SEAL
#: Fault the sender's pages in at once (measured: writing into a populated
#: mapping is faster than a fault per page); Python 3.10+.
_POPULATE: int = getattr(mmap, 'MAP_POPULATE', 0)
#: A ring's mappings live as long as the connection: from Python 3.13 they
#: keep no duplicate of the file's descriptor (before, each holds one).
_NO_FD: Dict[str, bool] = {'trackfd': False} \
    if sys.version_info >= (3, 13) else {}


#: ``wait(write, deadline, what)``: until the socket is ready, or
#: PipeTimeoutError at *deadline* (the Stream's own wait).
WaitFn = Callable[[bool, Deadline, str], None]


def available() -> bool:
    """Whether this system can create sealed memfds."""
    return hasattr(os, 'memfd_create') and hasattr(fcntl, 'F_ADD_SEALS')


def _memory(mapping: mmap.mmap) -> Memory:
    return Memory(memoryview(mapping), mapping.close)


def _close_all(fds: Union[Deque[int], List[int]]) -> None:
    while fds:
        try:
            os.close(fds.pop())
        except OSError:
            pass


def _size(fd: int) -> int:
    """The size of the regular file *fd* (a received one)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise SharedMemoryError('shared memory: the file received is not a '
                                'regular file')
    return st.st_size


def _check_seals(fd: int, needed: int, against: str) -> None:
    """SharedMemoryError unless *fd* is a memfd with the seals *needed*."""
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    except OSError:
        seals = 0                          # not a memfd (EINVAL)
    if seals & needed != needed:
        raise SharedMemoryError(f'shared memory: the file received is not a '
                                f'memfd sealed against {against}')


class MemfdPort:
    """Shared-memory operations on one connected AF_UNIX socket: reads that
    collect the files arriving beside the bytes, and sends that carry one."""

    #: Files beside the frames (kind 1, and the ring's with its first
    #: frame): not a Windows section announced by a frame of its own.
    sections = False

    def __init__(self, sock: socket.socket, wait: WaitFn) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._wait = wait
        #: Files received and not yet claimed by a descriptor frame.
        self.files: Deque[int] = collections.deque()

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
        self.files.extend(got)

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
        if len(self.files) != 1:
            count = len(self.files)
            self.discard()
            raise SharedMemoryError(
                'shared memory: a descriptor frame arrived without its file'
                if count == 0 else
                f'shared memory: {count} files arrived with one descriptor '
                f'frame')
        return self.files.popleft()

    def no_file(self) -> None:
        """An ordinary frame completed: no file may have come with it."""
        if self.files:
            self.discard()
            raise SharedMemoryError('shared memory: a file arrived with a '
                                    'frame that is not a descriptor frame')

    @staticmethod
    def close_file(fd: int) -> None:
        """Close a file this port handed out."""
        os.close(fd)

    def discard(self) -> None:
        """Close every queued file."""
        _close_all(self.files)

    @typed_os_errors
    def map_file(self, fd: int, length: int) -> mmap.mmap:
        """Check the file *fd* (§4.3-4) and map it read-only; *fd* is closed
        whatever happens."""
        try:
            size = _size(fd)
            if size != length:
                raise SharedMemoryError(
                    f'shared memory: the file received holds {size} '
                    f'bytes, the descriptor announces {length}')
            _check_seals(fd, _NEEDED, 'writing, growing and shrinking')
            return mmap.mmap(fd, length, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)

    @typed_os_errors
    def map_ring(self, fd: int) -> Tuple[Memory, Memory, int]:
        """Check the ring's file *fd* (§8) and map it: ``(control page
        read-write, data region read-only, capacity)``; *fd* is closed
        whatever happens."""
        try:
            capacity = check_ring_size(_size(fd))
            _check_seals(fd, _RING_NEEDED, 'growing and shrinking')
            try:
                control = mmap.mmap(fd, PAGE, **_NO_FD)
                try:
                    return _memory(control), _memory(mmap.mmap(
                        fd, capacity, offset=PAGE, access=mmap.ACCESS_READ,
                        **_NO_FD)), capacity
                except BaseException:
                    control.close()
                    raise
            except OSError as exc:         # e.g. a descriptor opened read-only
                raise SharedMemoryError(f'shared memory: the ring received '
                                        f'cannot be mapped: {exc}') from None
        finally:
            os.close(fd)

    @staticmethod
    def attach_ring(value: int, length: int) -> Tuple[Memory, Memory, int]:
        """A Windows ring's section (kind 3, §9): refused on Linux."""
        raise SharedMemoryError(
            'shared memory: a descriptor of kind 3 (a Windows ring section) '
            'on Linux, where the ring\'s file comes with its first slot: '
            'refused')

    # -- sending (§3, §8) ----------------------------------------------------
    @staticmethod
    def _memfd(length: int, name: str = 'npipes') -> int:
        fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(fd, length)
        except BaseException:
            os.close(fd)
            raise
        return fd

    @typed_os_errors
    def create(self, length: int) -> Tuple[int, mmap.mmap]:
        """A memfd of *length* bytes and its writable mapping."""
        fd = self._memfd(length)
        try:
            return fd, mmap.mmap(fd, length, mmap.MAP_SHARED | _POPULATE)
        except BaseException:
            os.close(fd)
            raise

    @typed_os_errors
    def create_ring(self, capacity: int) -> Tuple[int, Memory]:
        """The ring's file (control page and *capacity* bytes), sealed
        against growing and shrinking, and its writable mapping; its pages
        are faulted in as slots first use them."""
        fd = self._memfd(PAGE + capacity, 'npipes-ring')
        try:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _RING_SEALS)
            return fd, _memory(mmap.mmap(fd, PAGE + capacity, **_NO_FD))
        except BaseException:
            os.close(fd)
            raise

    @typed_os_errors
    def write_file(self, payload: Buffer) -> int:
        """A memfd holding *payload*, written with pwrite (measured: a
        third less time than a mapping, its faults and its unmapping)."""
        view = memoryview(payload).cast('B')
        fd = self._memfd(len(view))
        try:
            done = 0
            while done < len(view):
                done += os.pwrite(fd, view[done:], done)
        except BaseException:
            os.close(fd)
            raise
        return fd

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
        # Sealed once: a retry after EAGAIN finds F_SEAL_SEAL, which
        # refuses every later F_ADD_SEALS (EPERM).
        if not fcntl.fcntl(fd, fcntl.F_GET_SEALS) & fcntl.F_SEAL_SEAL:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                   array.array('i', [fd]).tobytes())]
        return self._sock.sendmsg([frame], rights, flags)

    @typed_os_errors
    def queue_empty(self) -> bool:
        """Whether the peer has read everything sent (SIOCOUTQ == 0)."""
        (left,) = struct.unpack('i', fcntl.ioctl(
            self._fd, termios.TIOCOUTQ, struct.pack('i', 0)))
        return bool(left == 0)

