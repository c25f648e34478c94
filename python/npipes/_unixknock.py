"""One connect attempt to an AF_UNIX socket file that never follows a
symlink (docs/unix-endpoint.md sections 3 and 5), what kind of file a
path holds, and the connected peer's uid.

The endpoint protocol built on these is in _unix.py; the connected socket
is _unixsock.Stream's.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import struct
from typing import NamedTuple, Optional, Tuple, overload

from ._platform import BSD, LINUX
from ._util import typed_os_errors
from .errors import PipePathOccupiedError

__all__ = ['knock', 'peer_uid', 'file_kind', 'ident', 'Knock', 'CONNECTED',
           'REFUSED', 'BUSY', 'GONE', 'DENIED']

# On Linux a connect can be pinned to the exact file lstat saw: open it with
# O_PATH|O_NOFOLLOW (which neither follows a symlink nor "opens" a FIFO or
# device) and connect to /proc/self/fd/N.  Elsewhere the path is used.
_PIN = (hasattr(os, 'O_PATH') and LINUX
        and os.path.isdir('/proc/self/fd'))

CONNECTED, REFUSED, BUSY, GONE, DENIED = (
    'connected', 'refused', 'busy', 'gone', 'denied')


class Knock(NamedTuple):
    """The outcome of one connect attempt: status (one of the constants
    above), the connected socket (CONNECTED only) and the file's stat (None
    if GONE)."""

    status: str
    sock: Optional[socket.socket]
    st: Optional[os.stat_result]

    def connected(self) -> socket.socket:
        """The connected socket (status CONNECTED)."""
        if self.sock is None:
            raise RuntimeError(f'knock status {self.status}: no socket')
        return self.sock

    def stat(self) -> os.stat_result:
        """The file's lstat (every status but GONE)."""
        if self.st is None:
            raise RuntimeError(f'knock status {self.status}: no file')
        return self.st


_KINDS = ((stat.S_ISLNK, 'symbolic link'), (stat.S_ISFIFO, 'FIFO'),
          (stat.S_ISDIR, 'directory'), (stat.S_ISREG, 'regular file'),
          (stat.S_ISCHR, 'character device'), (stat.S_ISBLK, 'block device'))


def file_kind(st: os.stat_result) -> str:
    """What kind of file *st* (an lstat result) describes, in words."""
    for test, kind in _KINDS:
        if test(st.st_mode):
            return kind
    return 'socket' if stat.S_ISSOCK(st.st_mode) else 'file of unknown kind'


@overload
def ident(st: os.stat_result) -> Tuple[int, int]: ...
@overload
def ident(st: None) -> None: ...
@overload
def ident(st: Optional[os.stat_result]) -> Optional[Tuple[int, int]]: ...


def ident(st: Optional[os.stat_result]) -> Optional[Tuple[int, int]]:
    """(st_dev, st_ino): what identifies one file across renames and links."""
    return None if st is None else (st.st_dev, st.st_ino)


@typed_os_errors
def knock(path: str) -> Knock:
    """One connect attempt to the socket file at *path* (section 3 and 5).

    Looks with lstat semantics: a symbolic link, FIFO, directory, regular
    file or device raises PipePathOccupiedError at once and is not touched.
    A connected socket is returned blocking, before any byte is exchanged.
    """
    fd: Optional[int] = None
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
            code: Optional[int] = getattr(exc, 'errno', None)
            status = {errno.ECONNREFUSED: REFUSED, errno.EAGAIN: BUSY,
                      errno.ENOENT: GONE, errno.EACCES: DENIED,
                      errno.EPERM: DENIED}.get(code or 0)
            if status is None:
                raise
            return Knock(status, None, None if status == GONE else st)
        sock.setblocking(True)
        return Knock(CONNECTED, sock, st)
    finally:
        if fd is not None:
            os.close(fd)


def peer_uid(sock: socket.socket) -> Optional[int]:
    """The effective uid of a connected AF_UNIX peer, or None if unknown."""
    try:
        if hasattr(socket, 'SO_PEERCRED'):                       # Linux
            fmt = '3i'                                           # pid, uid, gid
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                  struct.calcsize(fmt))
            return int(struct.unpack(fmt, raw)[1])
        if BSD:
            # getsockopt(SOL_LOCAL=0, LOCAL_PEERCRED=1) -> struct xucred
            # {u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t[16]}
            raw = sock.getsockopt(0, 1, 76)
            return int(struct.unpack_from('=II', raw)[1])
    except (OSError, struct.error):
        pass
    return None
