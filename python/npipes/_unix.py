"""Pipes on Linux and macOS: the AF_UNIX stream sockets .NET uses.

A pipe named N is the socket file ``<temp dir>/CoreFxPipe_N``, where the
temp dir follows .NET's ``Path.GetTempPath()``: ``$TMPDIR`` if set and not
empty (with a trailing '/'), else ``/tmp/``.  Socket files are created with
mode 0600 (current user only) and servers drop peers of another uid,
unless ``allow_other_users=True`` (mode 0666, no uid check).
"""

import errno
import os
import select
import socket
import stat
import struct
import sys
import threading
import time
import weakref

from ._util import Deadline, backoff, check_name, drain
from .consts import (MAX_SOCKET_PATH_BSD, MAX_SOCKET_PATH_LINUX,
                     SOCKET_MODE_PRIVATE, SOCKET_MODE_SHARED,
                     UNIX_SOCKET_PREFIX)
from .errors import NPipesError, PipeNameError, PipeNameInUseError, \
    PipeTimeoutError

__all__ = ['temp_dir', 'pipe_address', 'connect', 'rendezvous', 'Server',
           'Stream', 'peer_uid']

_BACKLOG = 64
# A refused socket file is probed again every _STALE_RECHECK seconds for
# _STALE_GRACE seconds (_STALE_GRACE_YOUNG if it is younger than _YOUNG
# seconds: maybe a server between bind() and listen()) before it is unlinked.
_STALE_RECHECK = 0.01
_STALE_GRACE = 0.01
_STALE_GRACE_YOUNG = 0.25
_YOUNG = 2.0
_OWNER_CHECK = 0.2       # a rendezvous server re-checks its file this often
_umask_lock = threading.Lock()


def temp_dir():
    """.NET's Path.GetTempPath() on Unix."""
    tmp = os.environ.get('TMPDIR') or '/tmp/'
    return tmp if tmp.endswith('/') else tmp + '/'


def pipe_address(name):
    """The socket path for pipe *name* (validated)."""
    check_name(name)
    path = temp_dir() + UNIX_SOCKET_PREFIX + name
    limit = (MAX_SOCKET_PATH_LINUX if sys.platform.startswith('linux')
             else MAX_SOCKET_PATH_BSD)
    size = len(os.fsencode(path))
    if size > limit:
        raise PipeNameError(f'socket path {path!r} is {size} bytes; AF_UNIX '
                            f'allows at most {limit} bytes (shorten the name '
                            f'or $TMPDIR)')
    return path


def peer_uid(sock):
    """The uid of a connected AF_UNIX peer, or None where it cannot be read."""
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
    return None


class Stream:
    """A connected socket carrying npipes frames."""

    def __init__(self, sock):
        self._sock = sock
        sock.setblocking(True)

    def _timed(self, deadline, what):
        self._sock.settimeout(deadline.remaining(what))

    def recv_into(self, view, deadline):
        """Read into *view*; return the count (0 at EOF)."""
        self._timed(deadline, 'receive')
        try:
            return self._sock.recv_into(view)
        except TimeoutError:
            raise PipeTimeoutError(
                f'receive timed out after {deadline.timeout} s') from None

    def send(self, frame, deadline):
        """Write one whole frame."""
        self._timed(deadline, 'send')
        try:
            self._sock.sendall(frame)
        except TimeoutError:
            raise PipeTimeoutError(
                f'send timed out after {deadline.timeout} s') from None

    def finish(self, deadline):
        """Say we are done writing; wait until the peer closes its end.

        Returns how many bytes the peer sent meanwhile (a receiver sends
        none).  A reset (rather than EOF) means the peer never read our frame.
        """
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                raise
        return drain(self, deadline)

    def close(self):
        self._sock.close()


def _readable(fds, timeout):
    """The subset of *fds* readable within *timeout* seconds (None: wait)."""
    if hasattr(select, 'poll'):            # no FD_SETSIZE limit
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return {fd for fd, _ in poller.poll(ms)}
    return set(select.select(fds, [], [], timeout)[0])


def _probe(path, deadline):
    """Try to connect to *path*.

    Returns ``(sock, None)`` when connected, ``(None, st)`` when the file
    exists but nobody accepts (``st`` is its lstat), ``(None, None)`` when
    there is no file, and ``(None, 'busy')`` when the server's backlog is full.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None, None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(deadline.remaining('connect'))
        sock.connect(path)
    except FileNotFoundError:
        sock.close()
        return None, None
    except ConnectionRefusedError:
        sock.close()
        return None, st
    except BlockingIOError:
        sock.close()
        return None, 'busy'
    except TimeoutError:
        sock.close()
        raise PipeTimeoutError(f'connect to {path} timed out') from None
    except PermissionError as exc:
        sock.close()
        raise PipeNameInUseError(f'{path} exists and is not accessible to '
                                 f'this user ({exc.strerror})') from exc
    except BaseException:
        sock.close()
        raise
    return sock, None


def _remove_stale(path, st, deadline):
    """Unlink *path* if it is still the same dead socket file as *st*.

    Called only after a refused connect.  A server that binds and then
    listens (as .NET's does) also refuses in between, so the file is probed
    again after a pause (longer for a file made in the last seconds), and a
    file that was replaced meanwhile is never removed.  Returns a connected
    socket if the server turned out to be alive, else None.
    """
    if not stat.S_ISSOCK(st.st_mode):
        raise PipeNameInUseError(f'{path} exists and is not a socket')
    young = time.time() - st.st_ctime < _YOUNG
    end = time.monotonic() + (_STALE_GRACE_YOUNG if young else _STALE_GRACE)
    while True:
        deadline.sleep(_STALE_RECHECK)
        sock, again = _probe(path, deadline)
        if sock is not None:
            return sock
        if not isinstance(again, os.stat_result) or \
                (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
            return None
        if time.monotonic() >= end:
            break
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except PermissionError as exc:
        raise PipeNameInUseError(f'stale socket {path} belongs to another '
                                 f'user and cannot be removed') from exc
    return None


def _bind(sock, path, mode):
    with _umask_lock:        # umask is process-wide: bind with 0o177 / 0o111
        old = os.umask(0o777 & ~mode)
        try:
            sock.bind(path)
        finally:
            os.umask(old)


_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV,
                  errno.EMLINK}


def _publish(path, mode, backlog):
    """Return ``(listening socket, lstat of its file)`` served at *path*.

    The socket is bound to a private temporary name in the same directory,
    made to listen, and only then hard-linked to *path* (link() fails if
    *path* exists), so the file at *path* accepts connections from the
    moment it appears: a refused connect there really means a dead server.
    Where hard links are refused, *path* is bound directly and listened on
    at once.  Raises OSError(EADDRINUSE) if *path* exists.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # '.np' + 8 hex digits: shorter than any pipe path in this directory.
        tmp = os.path.join(os.path.dirname(path), f'.np{os.urandom(4).hex()}')
        _bind(sock, tmp, mode)
        try:
            sock.listen(backlog)
            st = os.lstat(tmp)
            os.link(tmp, path)
            return sock, st
        except FileExistsError:
            raise OSError(errno.EADDRINUSE, 'address in use', path) from None
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
        finally:
            os.unlink(tmp)
        sock.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        _bind(sock, path, mode)
        sock.listen(backlog)
        return sock, os.lstat(path)
    except BaseException:
        sock.close()
        raise


class _Lost(Exception):
    """Our socket file was removed or replaced by someone else."""


class Server:
    """A listening socket bound to a pipe's path (the path is removed on close)."""

    def __init__(self, path, allow_other_users=False, backlog=_BACKLOG):
        """Serve *path*; raise OSError(EADDRINUSE) if it already exists."""
        self.path = path
        self.allow_other_users = allow_other_users
        mode = SOCKET_MODE_SHARED if allow_other_users else SOCKET_MODE_PRIVATE
        sock, st = _publish(path, mode, backlog)
        sock.setblocking(False)
        self._id = (st.st_dev, st.st_ino)      # to recognise our own file
        self._sock = sock
        self._uid = os.getuid()
        self._wake_r, self._wake_w = os.pipe()
        weakref.finalize(self, os.close, self._wake_r)

    @classmethod
    def create(cls, name, allow_other_users=False, backlog=_BACKLOG):
        """Serve pipe *name*; PipeNameInUseError if a live server has it."""
        path = pipe_address(name)
        deadline = Deadline(None)
        while True:
            sock, st = _probe(path, deadline)
            if sock is not None or st == 'busy':
                if sock is not None:
                    sock.close()
                raise PipeNameInUseError(f'pipe {name!r} is already served '
                                         f'by another process ({path})')
            if st is not None:
                sock = _remove_stale(path, st, deadline)
                if sock is not None:
                    sock.close()
                    continue          # it came alive: report it next round
            try:
                return cls(path, allow_other_users, backlog)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise

    @property
    def closed(self):
        return self._sock is None

    def owns_path(self):
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) == self._id

    def _peer_allowed(self, conn):
        if self.allow_other_users:
            return True
        uid = peer_uid(conn)
        return uid is None or uid == self._uid

    def accept(self, deadline, check_owner=False):
        """Wait for one client of this user; return its Stream."""
        while True:
            left = deadline.remaining('waiting for a client')
            if check_owner:
                left = _OWNER_CHECK if left is None else min(left, _OWNER_CHECK)
            sock = self._sock
            try:
                if sock is None:
                    raise OSError(errno.EBADF, 'closed')
                ready = _readable((sock.fileno(), self._wake_r), left)
                if self._sock is None:
                    raise OSError(errno.EBADF, 'closed')
                if sock.fileno() not in ready:
                    if check_owner and not self.owns_path():
                        raise _Lost()
                    continue
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except (OSError, ValueError):
                if self._sock is None:         # closed by another thread
                    raise NPipesError('server is closed') from None
                raise
            if self._peer_allowed(conn):
                return Stream(conn)
            conn.close()

    def close(self):
        """Stop listening and remove the socket file (if still ours)."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            if self.owns_path():
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        finally:
            sock.close()
            os.close(self._wake_w)    # wakes a thread blocked in accept()


def connect(name, deadline):
    """Connect to the server of pipe *name*, waiting for it to appear."""
    path = pipe_address(name)
    for _ in backoff(deadline):
        sock, _st = _probe(path, deadline)
        if sock is not None:
            return Stream(sock)
        deadline.remaining(f'connect to pipe {name!r}')


def rendezvous(name, deadline, allow_other_users=False):
    """Meet the other side of pipe *name*, whichever starts first.

    Connect if someone serves the name; otherwise (no file, or a stale file
    nobody accepts on) become the server for one connection.
    """
    path = pipe_address(name)
    for _ in backoff(deadline):
        sock, st = _probe(path, deadline)
        if sock is None and st != 'busy':
            if st is not None:
                sock = _remove_stale(path, st, deadline)
        if sock is not None:
            return Stream(sock)
        if st == 'busy':
            continue
        try:
            server = Server(path, allow_other_users, backlog=1)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                continue            # someone else just became the server
            raise
        try:
            return server.accept(deadline, check_owner=True)
        except _Lost:
            continue
        finally:
            server.close()
