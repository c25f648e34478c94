"""Pipes on Linux and macOS: the endpoint protocol of docs/unix-endpoint.md.

A pipe named N is the socket file ``<temp dir>/CoreFxPipe_N`` (.NET's
``Path.GetTempPath()``).  Section numbers below (§) are that document's.
In short: only a socket at the path is ever touched (anything else is a
PipePathOccupiedError at once); a server publishes its socket already
listening and already 0600 by hard-linking it from a private directory;
a socket file is stale only if two connects 50 ms apart are refused and it
is ours; every connection's peer must pass the access rule of
docs/access.md (PipeAccessError for a client, a silent drop for a server:
_unixaccess.py); a server removes only the file it published.
"""

from __future__ import annotations

import errno
import itertools
import os
import select
import socket
import stat
import tempfile
import weakref
from typing import (Callable, Collection, Optional, Set, Tuple, Type,
                    TypeVar, Union)

from . import _exit_release
from ._log import event
from ._unixaccess import UnixRule, peer_identity
from ._unixknock import (BUSY, CONNECTED, DENIED, GONE, REFUSED, Knock,
                         ident, knock, peer_uid)
from ._unixsock import Stream
from ._limits import poll_ms
from ._platform import LINUX
from ._util import Deadline, backoff, check_name, typed_os_errors
from .access import PeerIdentity, Policy, policy
from .consts import (MAX_SOCKET_PATH_BSD, MAX_SOCKET_PATH_LINUX,
                     UNIX_SOCKET_PREFIX)
from .errors import NPipesError, PipeAccessError, PipeNameError, \
    PipeNameInUseError

__all__ = ['temp_dir', 'pipe_address', 'connect', 'rendezvous', 'Server',
           'Stream', 'peer_uid']

_BACKLOG = 64
_STALE_GAP = 0.05        # §5: two refusals at least this far apart
_OWNER_CHECK = 0.2       # §8: a rendezvous server re-checks its file this often
_LIVE, _CHANGED, _REMOVED = 'live', 'changed', 'removed'
# §4.2: how many times a server looks again while the path keeps changing
# (within the caller's deadline, if any); as .NET's UnixNameClaim.MaxTurns.
CLAIM_TURNS = 64
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV,
                  errno.EMLINK}
#: (st_dev, st_ino) of a file: see _unixknock.ident.
FileId = Tuple[int, int]
_S = TypeVar('_S', bound='Server')

_LIMIT = (MAX_SOCKET_PATH_LINUX if LINUX
          else MAX_SOCKET_PATH_BSD)


def temp_dir() -> str:
    """.NET's Path.GetTempPath() on Unix (§2)."""
    tmp = os.environ.get('TMPDIR') or '/tmp/'
    return tmp if tmp.endswith('/') else tmp + '/'


def pipe_address(name: str) -> str:
    """The socket path for pipe *name* (validated: §1, §2)."""
    check_name(name)
    path = temp_dir() + UNIX_SOCKET_PREFIX + name
    size = len(os.fsencode(path))
    if size > _LIMIT:
        most = _LIMIT - (size - len(name.encode('utf-8')))
        raise PipeNameError(f'socket path {path!r} is {size} bytes; AF_UNIX '
                            f'allows at most {_LIMIT} bytes, so the name may '
                            f'be at most {most} bytes here (shorten the name '
                            f'or $TMPDIR)')
    return path


def _check_peer(sock: socket.socket, name: str, path: str,
                trust: UnixRule) -> PeerIdentity:
    """docs/access.md §4: the server's identity, read once; PipeAccessError
    (the socket closed, not a byte moved) if *trust* does not admit it."""
    server = peer_identity(sock)
    if not trust.admits(server):
        sock.close()
        raise trust.refusal(name, path, server)
    return server


def _denied(name: str, path: str, st: os.stat_result) -> PipeAccessError:
    return PipeAccessError(f"The socket of pipe '{name}' ('{path}') belongs "
                           f"to another user and may not be connected to.",
                           path=path, uid=st.st_uid)


def _prove_stale(path: str, first: Knock, deadline: Deadline) -> str:
    """§5: after a refused connect to *first* (a Knock), is the file stale?

    Returns _LIVE, _CHANGED (something else is there now: look again) or
    _REMOVED (it was stale and ours, and is unlinked).  Another user's file
    is never removed: PipeNameInUseError.
    """
    owner: int = first.stat().st_uid
    if owner != os.geteuid():
        raise PipeNameInUseError(f'{path} is a socket of uid {owner} that '
                                 f'nobody accepts on; it is not ours to '
                                 f'remove')
    deadline.sleep(_STALE_GAP, 'proving a socket file stale')
    second = knock(path)
    if second.status == CONNECTED:
        second.connected().close()  # a probe: not a byte exchanged
    if second.status in (CONNECTED, BUSY, DENIED):
        return _LIVE
    if second.status == GONE or ident(second.st) != ident(first.st):
        return _CHANGED
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return _CHANGED
    if not stat.S_ISSOCK(st.st_mode) or ident(st) != ident(first.st):
        return _CHANGED
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return _REMOVED


def _publish(path: str, rule: UnixRule,
             backlog: int) -> Tuple[socket.socket, FileId]:
    """§4.2: return ``(listening socket, (dev, ino))`` published at *path*.

    The socket is bound in a fresh private (0700) directory beside *path*,
    its mode per *rule* (docs/access.md §3), made to listen, and only then
    hard-linked to *path*, so the file there accepts connections, with its final mode, from the moment it
    appears.  Raises FileExistsError if anything is at *path*.  Where hard
    links are refused (or the private path would be too long for AF_UNIX)
    *path* is bound directly (§4.3).
    """
    private = tempfile.mkdtemp(prefix='.npipes-', dir=os.path.dirname(path))
    tmp = os.path.join(private, 's')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if len(os.fsencode(tmp)) <= _LIMIT:
            sock.bind(tmp)
            rule.apply(tmp)                # inside our 0700 directory
            sock.listen(backlog)
            st = os.lstat(tmp)
            try:
                os.link(tmp, path)
                our_id: FileId = ident(st)
                return sock, our_id
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
            sock.close()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        return sock, _bind_in_place(sock, path, rule, backlog)
    except BaseException:
        sock.close()
        raise
    finally:
        try:
            os.unlink(tmp)                 # the link at *path* stays
        except FileNotFoundError:
            pass                           # never bound (fallback)
        os.rmdir(private)


def _bind_in_place(sock: socket.socket, path: str, rule: UnixRule,
                   backlog: int) -> FileId:
    """§4.3: bind *path* itself, set its mode, listen at once."""
    try:
        sock.bind(path)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise FileExistsError(errno.EEXIST, 'exists', path) from None
        raise
    st = os.lstat(path)
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid():
        raise FileExistsError(errno.EEXIST, 'replaced after bind', path)
    rule.apply(path)
    sock.listen(backlog)
    our_id: FileId = ident(st)
    return our_id


def _release(path: str, sock: socket.socket, our_id: FileId) -> None:
    """§9: close, then unlink *path* only if it is still the file we made."""
    sock.close()
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(st.st_mode) and ident(st) == our_id:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _readable(fds: Collection[int], timeout: Optional[float]) -> Set[int]:
    """The subset of *fds* readable within *timeout* seconds (None: wait)."""
    if hasattr(select, 'poll'):            # no FD_SETSIZE limit
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        return {fd for fd, _ in poller.poll(poll_ms(timeout))}
    return set(select.select(fds, [], [], timeout)[0])


class _Lost(Exception):
    """Our socket file was removed or replaced by someone else."""


class Server:
    """A listening socket published at a pipe's path (§4), removed on close
    only if still ours (§9).  Peers the access rule does not admit are
    dropped unread (docs/access.md §3); ``on_refused(peer)``, if set, hears
    of each."""

    def __init__(self, path: str, sock: socket.socket, our_id: FileId,
                 rule: UnixRule) -> None:
        self.path = path
        self.rule = rule
        self.on_refused: Optional[Callable[[PeerIdentity], None]] = None
        self._id = our_id
        self._sock: Optional[socket.socket] = sock
        sock.setblocking(False)
        self._wake_r, self._wake_w = os.pipe()
        # The read end lives as long as the object: a thread may still be
        # polling it when close() runs (closing the write end wakes it).
        weakref.finalize(self, os.close, self._wake_r)
        _exit_release.track(self)   # interpreter exit releases the path

    @classmethod
    @typed_os_errors
    def create(cls: Type[_S], name: str,
               access: Union[bool, Policy] = False,
               backlog: int = _BACKLOG,
               deadline: Optional[Deadline] = None) -> _S:
        """Serve pipe *name* (§4): PipeNameInUseError if a live server (or
        another user's socket) has it, PipePathOccupiedError if the path
        holds something that is not a socket; our own stale file is
        removed.  *access*: the Policy whose ``allow`` rule admits clients
        (a bool: 0.2.0's allow_other_users); its names are resolved first,
        before the path is touched (ValueError for an unknown one)."""
        path = pipe_address(name)
        rule = UnixRule(policy(access).allow)
        deadline = deadline or Deadline(None)
        for _ in itertools.islice(backoff(deadline, f'claiming pipe {name!r}'),
                                  CLAIM_TURNS):
            found = knock(path)
            if found.status == CONNECTED:
                found.connected().close()  # a probe: not a byte exchanged
            if found.status in (CONNECTED, BUSY, DENIED):
                holder = ('another user' if found.status == DENIED
                          else 'a live server')
                raise PipeNameInUseError(
                    f'pipe {name!r} is held by {holder} ({path}, uid '
                    f'{found.stat().st_uid}); npipes never takes a name over')
            if found.status == REFUSED and \
                    _prove_stale(path, found, deadline) != _REMOVED:
                continue                   # live or changed: look again
            try:
                sock, our_id = _publish(path, rule, backlog)
            except FileExistsError:
                continue
            return cls(path, sock, our_id, rule)
        raise PipeNameInUseError(
            f'pipe {name!r}: {path} kept appearing and disappearing while '
            f'npipes tried to claim it ({CLAIM_TURNS} turns)')

    @property
    def closed(self) -> bool:
        return self._sock is None

    def owns_path(self) -> bool:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return False
        return stat.S_ISSOCK(st.st_mode) and ident(st) == self._id

    def admit(self, conn: socket.socket) -> Optional[Stream]:
        """The Stream of *conn* (just accepted) if the rule admits its
        peer, read once from the kernel; else None (the caller closes it,
        unread) and ``on_refused`` hears of it.  For accept loops other
        than :meth:`accept` (npipes.aio)."""
        peer = peer_identity(conn)
        if self.rule.admits(peer):
            return Stream(conn, peer)
        if self.on_refused is not None:
            self.on_refused(peer)
        return None

    @typed_os_errors
    def accept(self, deadline: Deadline, check_owner: bool = False) -> Stream:
        """Wait for one client the rule admits; return its Stream."""
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
            stream = self.admit(conn)
            if stream is not None:
                return stream
            conn.close()                   # silently, not a byte read

    @typed_os_errors
    def close(self) -> None:
        """Stop listening and remove the socket file (if still ours)."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        _exit_release.forget(self)
        try:
            _release(self.path, sock, self._id)
        finally:
            os.close(self._wake_w)    # wakes a thread blocked in accept()

    @property
    def listening_socket(self) -> Optional[socket.socket]:
        """The listening socket (non-blocking; None once closed), for an
        accept loop of its own (npipes.aio), which must then call
        :meth:`admit` on every socket it accepts."""
        return self._sock


@typed_os_errors
def connect(name: str, deadline: Deadline,
            access: Union[bool, Policy] = False) -> Stream:
    """§7: connect to the server of pipe *name*, waiting for it to appear;
    the server must pass *access*' ``trust`` rule (docs/access.md §4).  A
    client never removes anything."""
    path = pipe_address(name)
    trust = UnixRule(policy(access).trust)
    for turn, _ in enumerate(backoff(deadline, f'connect to pipe {name!r}')):
        found = knock(path)
        stream = _client(found, name, path, trust)
        if stream is not None:
            return stream
        if turn == 0:                      # once: no server took it at once
            event('WaitingForServer', "Waiting for a server on pipe '%s'", name)
    raise AssertionError('unreachable: backoff() never ends')


def _client(found: Knock, name: str, path: str,
            trust: UnixRule) -> Optional[Stream]:
    """§7: the Stream of a connected knock whose peer *trust* admits (else
    PipeAccessError, as for a socket we may not connect to); None if
    nothing connected."""
    if found.status == CONNECTED:
        server = _check_peer(found.connected(), name, path, trust)
        return Stream(found.connected(), server)
    if found.status == DENIED:
        raise _denied(name, path, found.stat())
    return None


@typed_os_errors
def rendezvous(name: str, deadline: Deadline,
               access: Union[bool, Policy] = False,
               receiver: bool = False) -> Stream:
    """§8: meet the other side of pipe *name*, whichever starts first.

    Connect if someone serves the name (a stale file of ours is proven
    stale and removed); otherwise become the server for one connection.
    *receiver* changes nothing here (on Windows a receiver only connects).
    """
    path = pipe_address(name)
    rules = policy(access)
    trust, allow = UnixRule(rules.trust), UnixRule(rules.allow)
    for _ in backoff(deadline, f'meeting the peer on pipe {name!r}'):
        found = knock(path)
        stream = _client(found, name, path, trust)
        if stream is not None:
            return stream
        if found.status == BUSY:
            continue
        if found.status == REFUSED and \
                _prove_stale(path, found, deadline) != _REMOVED:
            continue
        try:
            sock, our_id = _publish(path, allow, backlog=1)
        except FileExistsError:
            continue                # the other side just claimed it
        server = Server(path, sock, our_id, allow)
        try:
            return server.accept(deadline, check_owner=True)
        except _Lost:
            continue
        finally:
            server.close()
    raise AssertionError('unreachable: backoff() never ends')
