"""AF_UNIX sockets for the Unix transport: one connect attempt that never
follows a symlink, the peer's uid, and the connected Stream.

The endpoint protocol built on these is in _unix.py (docs/unix-endpoint.md).
"""

import collections
import errno
import os
import socket
import stat
import struct
import sys

from ._util import drain, typed_os_errors
from .errors import PipePathOccupiedError, PipeTimeoutError

__all__ = ['knock', 'peer_uid', 'file_kind', 'ident', 'Stream', 'Knock']

# Sends never raise SIGPIPE: MSG_NOSIGNAL on Linux/BSD, SO_NOSIGPIPE on macOS.
_MSG_NOSIGNAL = getattr(socket, 'MSG_NOSIGNAL', 0)
_SO_NOSIGPIPE = getattr(socket, 'SO_NOSIGPIPE',
                        0x1022 if sys.platform == 'darwin' else None)
# On Linux a connect can be pinned to the exact file lstat saw: open it with
# O_PATH|O_NOFOLLOW (which neither follows a symlink nor "opens" a FIFO or
# device) and connect to /proc/self/fd/N.  Elsewhere the path is used.
_PIN = (hasattr(os, 'O_PATH') and sys.platform.startswith('linux')
        and os.path.isdir('/proc/self/fd'))

CONNECTED, REFUSED, BUSY, GONE, DENIED = (
    'connected', 'refused', 'busy', 'gone', 'denied')
#: The outcome of one connect attempt: status (one of the constants above),
#: the connected socket (CONNECTED only) and the file's stat (None if GONE).
Knock = collections.namedtuple('Knock', 'status sock st')

_KINDS = ((stat.S_ISLNK, 'symbolic link'), (stat.S_ISFIFO, 'FIFO'),
          (stat.S_ISDIR, 'directory'), (stat.S_ISREG, 'regular file'),
          (stat.S_ISCHR, 'character device'), (stat.S_ISBLK, 'block device'))


def file_kind(st):
    """What kind of file *st* (an lstat result) describes, in words."""
    for test, kind in _KINDS:
        if test(st.st_mode):
            return kind
    return 'socket' if stat.S_ISSOCK(st.st_mode) else 'file of unknown kind'


def ident(st):
    """(st_dev, st_ino): what identifies one file across renames and links."""
    return None if st is None else (st.st_dev, st.st_ino)


@typed_os_errors
def knock(path):
    """One connect attempt to the socket file at *path* (section 3 and 5).

    Looks with lstat semantics: a symbolic link, FIFO, directory, regular
    file or device raises PipePathOccupiedError at once and is not touched.
    A connected socket is returned blocking, before any byte is exchanged.
    """
    fd = None
    try:
        if _PIN:
            try:
                fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                return Knock(GONE, None, None)
            st, target = os.fstat(fd), f'/proc/self/fd/{fd}'
        else:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                return Knock(GONE, None, None)
            target = path
        if not stat.S_ISSOCK(st.st_mode):
            raise PipePathOccupiedError(path, file_kind(st))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)       # a full backlog is EAGAIN, not a wait
            sock.connect(target)
        except BaseException as exc:
            sock.close()
            status = {errno.ECONNREFUSED: REFUSED, errno.EAGAIN: BUSY,
                      errno.ENOENT: GONE, errno.EACCES: DENIED,
                      errno.EPERM: DENIED}.get(getattr(exc, 'errno', None))
            if status is None:
                raise
            return Knock(status, None, None if status == GONE else st)
        sock.setblocking(True)
        return Knock(CONNECTED, sock, st)
    finally:
        if fd is not None:
            os.close(fd)


def peer_uid(sock):
    """The effective uid of a connected AF_UNIX peer, or None if unknown."""
    try:
        if hasattr(socket, 'SO_PEERCRED'):                       # Linux
            fmt = '3i'                                           # pid, uid, gid
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                  struct.calcsize(fmt))
            return struct.unpack(fmt, raw)[1]
        if sys.platform == 'darwin' or 'bsd' in sys.platform:
            # getsockopt(SOL_LOCAL=0, LOCAL_PEERCRED=1) -> struct xucred
            # {u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t[16]}
            raw = sock.getsockopt(0, 1, 76)
            return struct.unpack_from('=II', raw)[1]
    except (OSError, struct.error):
        pass
    return None


class Stream:
    """A connected socket carrying npipes frames (its peer already checked)."""

    def __init__(self, sock):
        self._sock = sock
        sock.setblocking(True)
        if _SO_NOSIGPIPE is not None and not _MSG_NOSIGNAL:
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_NOSIGPIPE, 1)
            except OSError:
                pass

    def _timed(self, deadline, what):
        self._sock.settimeout(deadline.remaining(what))

    @typed_os_errors
    def recv_into(self, view, deadline):
        """Read into *view*; return the count (0 at EOF).

        A reset (the peer closed without reading what we sent) raises
        ConnectionClosedError, so that it is not mistaken for an EOF.
        """
        self._timed(deadline, 'receive')
        try:
            return self._sock.recv_into(view)
        except TimeoutError:
            raise PipeTimeoutError(
                f'receive timed out after {deadline.timeout} s') from None

    @typed_os_errors
    def send(self, frame, deadline):
        """Write one whole frame (ConnectionClosedError if the peer left)."""
        self._timed(deadline, 'send')
        try:
            self._sock.sendall(frame, _MSG_NOSIGNAL)
        except TimeoutError:
            raise PipeTimeoutError(
                f'send timed out after {deadline.timeout} s') from None

    @typed_os_errors
    def finish(self, deadline):
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
        return drain(self, deadline)

    @typed_os_errors
    def close(self):
        self._sock.close()
