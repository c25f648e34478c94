"""Pipes on Windows: ``\\\\.\\pipe\\N`` named pipes through ``_winapi``.

Same pipe shape as npipes 1.0.1: duplex, message type, message read mode,
wait mode, 65536-byte buffers, one WriteFile per frame.  Handles are opened
overlapped so that every wait can honour a timeout (as in
multiprocessing.connection).  A read smaller than the pipe message gets
ERROR_MORE_DATA; the rest of the message stays queued and the next read
continues it, so frames larger than one read (or than 64 KiB) work.
"""

from __future__ import annotations

import errno
import math
import threading
from typing import (Callable, Iterator, Optional, Tuple, Type, TypeVar, Union,
                    cast)

import _winapi

from . import _win32
from ._util import Capabilities, Deadline, backoff, check_name, typed_os_errors
from ._winaccess import WindowsRule, client_identity, server_identity
from ._winshm import SectionPort
from .access import UNKNOWN, PeerIdentity, Policy, policy
from .consts import BUFFER_SIZE, WINDOWS_PIPE_PREFIX
from .errors import (NPipesError, PipeNameError, PipeNameInUseError,
                     PipeTimeoutError)

__all__ = ['pipe_address', 'connect', 'rendezvous', 'Server', 'Stream']

ERROR_FILE_NOT_FOUND = 2
ERROR_ACCESS_DENIED = 5
ERROR_BROKEN_PIPE = 109
ERROR_SEM_TIMEOUT = 121
ERROR_PIPE_BUSY = 231
ERROR_NO_DATA = 232
ERROR_PIPE_NOT_CONNECTED = 233
ERROR_MORE_DATA = 234
ERROR_HANDLES_CLOSED = 676
ERROR_OPERATION_ABORTED = 995
ERROR_IO_PENDING = 997
PIPE_REJECT_REMOTE_CLIENTS = 0x00000008
NMPWAIT_WAIT_FOREVER = 0xFFFFFFFF
_EOF_ERRORS = (ERROR_BROKEN_PIPE, ERROR_PIPE_NOT_CONNECTED, ERROR_NO_DATA)
_S = TypeVar('_S', bound='Server')


#: The longest full pipe path (``\\.\pipe\`` and the name), in UTF-16
#: code units, as .NET checks it.
MAX_PIPE_PATH_CHARS = 256


def pipe_address(name: str) -> str:
    """``\\\\.\\pipe\\<name>`` (validated)."""
    path = WINDOWS_PIPE_PREFIX + check_name(name)
    length = len(path.encode('utf-16-le')) // 2
    if length > MAX_PIPE_PATH_CHARS:
        raise PipeNameError(f'the pipe path would be {length} characters; '
                            f'Windows allows at most {MAX_PIPE_PATH_CHARS}')
    return path


def _millis(deadline: Deadline, what: str,
            forever: int = _winapi.INFINITE) -> int:
    left = deadline.remaining(what)
    return forever if left is None else max(1, math.ceil(left * 1000))


def _finish(ov: _winapi.Overlapped, err: int, deadline: Deadline,
            what: str) -> Tuple[int, int]:
    """Wait for an overlapped operation started with result *err*.

    Returns ``(bytes transferred, error code)`` from GetOverlappedResult.
    On timeout the operation is cancelled; if it completed meanwhile its
    result is returned (so no data read at the last moment is lost),
    otherwise PipeTimeoutError is raised.
    """
    if err == ERROR_IO_PENDING:
        try:
            ms = _millis(deadline, what)
            timed_out = _winapi.WaitForMultipleObjects(
                [ov.event], False, ms) == _winapi.WAIT_TIMEOUT
        except PipeTimeoutError:
            timed_out = True
        except BaseException:
            ov.cancel()
            try:
                ov.GetOverlappedResult(True)
            except OSError:
                pass
            raise
        if timed_out:
            ov.cancel()
            n, err = ov.GetOverlappedResult(True)
            if err == ERROR_OPERATION_ABORTED:
                raise PipeTimeoutError(
                    f'{what} timed out after {deadline.timeout} s')
            return n, err
    return ov.GetOverlappedResult(True)


class Stream:
    """A connected pipe handle (server or client end) carrying frames."""

    def __init__(self, handle: int, peer: PeerIdentity = UNKNOWN) -> None:
        self._handle: Optional[int] = handle
        #: Who is at the other end (docs/access.md §5), read once.
        self.peer = peer

    def _open(self) -> int:
        """The handle; after close() (maybe by another thread) the OSError
        of a closed descriptor, as on Unix (not _winapi's TypeError)."""
        handle = self._handle
        if handle is None:
            raise OSError(errno.EBADF, 'the pipe handle is closed')
        return handle

    @typed_os_errors
    def recv_into(self, view: memoryview, deadline: Deadline) -> int:
        """Read up to len(view) bytes of the current pipe message (0 = EOF)."""
        while True:
            try:
                ov, err = _winapi.ReadFile(self._open(), len(view),
                                           overlapped=True)
                # GetOverlappedResult raises for ERROR_BROKEN_PIPE too.
                n, err = _finish(ov, err, deadline, 'receive')
            except OSError as exc:
                if getattr(exc, 'winerror', None) in _EOF_ERRORS:
                    return 0
                raise
            if err in _EOF_ERRORS:
                return 0
            if err == ERROR_OPERATION_ABORTED:
                raise OSError('pipe handle was closed during a read')
            # err is 0, or ERROR_MORE_DATA: the rest of this pipe message
            # is still queued and the next read continues it.
            if n:
                view[:n] = cast(bytes, ov.getbuffer())    # completed: bytes
                return n
            # A zero-length pipe message is not end of file: read on.

    @typed_os_errors
    def send(self, frame: bytes, deadline: Deadline) -> None:
        """Write one whole frame with ONE WriteFile (one pipe message)."""
        ov, err = _winapi.WriteFile(self._open(), frame, overlapped=True)
        n, err = _finish(ov, err, deadline, 'send')
        if err == ERROR_OPERATION_ABORTED:
            raise BrokenPipeError('pipe handle was closed during a write')
        if err or n != len(frame):
            raise OSError(f'short pipe write: {n} of {len(frame)} bytes '
                          f'(error {err})')

    @typed_os_errors
    def finish(self, deadline: Deadline) -> int:
        """Wait until the peer closes its end (it has read our frame).

        A message pipe cannot be half-closed, so unlike on Unix we read
        until ERROR_BROKEN_PIPE; returns how many bytes the peer sent
        meanwhile (a receiver sends none).  The first bytes end the wait:
        such a peer is another sender, itself waiting for us to close, so
        reading on to end of file would hold both until the deadline.
        """
        return self.recv_into(memoryview(bytearray(BUFFER_SIZE)), deadline)

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            _winapi.CloseHandle(handle)

    def detach(self) -> int:
        """Hand the pipe handle over (to npipes.aio's proactor): this
        Stream is closed afterwards without closing the handle."""
        handle, self._handle = self._handle, None
        if handle is None:
            raise NPipesError('the pipe stream is closed')
        return handle

    def capabilities(self) -> Capabilities:
        """The handle, for asyncio: one write is one pipe message (no
        gathering write), and every call already has its own wait; and
        shared memory's ring in a section duplicated out of the peer's
        process, as the pipe reported it at connect (§9)."""
        return Capabilities(
            detach=self.detach,
            shared_memory=lambda: SectionPort(self.peer.pid, self.send))


class Server:
    """Instances of one pipe name waiting for clients.

    The first instance is created with FILE_FLAG_FIRST_PIPE_INSTANCE, so a
    name another process already serves raises PipeNameInUseError.
    Every instance gets the descriptor of docs/access.md §3 (owner us; a
    protected DACL of us plus the *access* ``allow`` rule's SIDs) and
    PIPE_REJECT_REMOTE_CLIENTS; each client's token is read once and a
    client the rule does not admit is closed unread (``on_refused``).
    """

    #: Set by a Listener, as on Unix: hears of each client refused.
    on_refused: Optional[Callable[[PeerIdentity], None]] = None

    def __init__(self, path: str, access: Union[bool, Policy] = False,
                 max_instances: int = _winapi.PIPE_UNLIMITED_INSTANCES
                 ) -> None:
        self.path = path
        self.rule = WindowsRule(policy(access).allow)
        self._sddl = self.rule.sddl()
        self._max_instances = max_instances
        self._ov: Optional[_winapi.Overlapped] = None
        self._lock = threading.Lock()    # close() against accept()'s hand-over
        self._pending: Optional[int] = self._new_instance(first=True)

    @classmethod
    @typed_os_errors
    def create(cls: Type[_S], name: str, access: Union[bool, Policy] = False,
               backlog: Optional[int] = None) -> _S:
        """Serve pipe *name* to any number of clients (one at a time per accept)."""
        return cls(pipe_address(name), access)

    def _new_instance(self, first: bool) -> int:
        flags = _winapi.PIPE_ACCESS_DUPLEX | _winapi.FILE_FLAG_OVERLAPPED
        if first:
            flags |= _winapi.FILE_FLAG_FIRST_PIPE_INSTANCE
        try:
            return _win32.create_pipe(
                self.path, flags,
                _winapi.PIPE_TYPE_MESSAGE | _winapi.PIPE_READMODE_MESSAGE
                | _winapi.PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                self._max_instances, BUFFER_SIZE, BUFFER_SIZE, self._sddl)
        except OSError as exc:
            if exc.winerror in (ERROR_ACCESS_DENIED, ERROR_PIPE_BUSY):
                raise PipeNameInUseError(
                    f'pipe {self.path} already exists (error '
                    f'{exc.winerror})') from exc
            raise

    @property
    def closed(self) -> bool:
        return self._pending is None

    @typed_os_errors
    def accept(self, deadline: Deadline, check_owner: bool = False) -> Stream:
        """Wait (ConnectNamedPipe) for one client; return its Stream."""
        handle = self._pending
        if handle is None:
            raise NPipesError('server is closed')
        try:
            ov = _winapi.ConnectNamedPipe(handle, overlapped=True)
        except OSError as exc:
            # ERROR_NO_DATA: a client connected, wrote and closed already;
            # its data is still readable from this instance.
            if exc.winerror != ERROR_NO_DATA:
                raise
        else:
            self._ov = ov
            try:
                _, err = _finish(ov, ERROR_IO_PENDING, deadline,
                                 'waiting for a client')
            except OSError:
                if self._pending is None:
                    raise NPipesError('server is closed') from None
                raise
            finally:
                self._ov = None
            if err == ERROR_OPERATION_ABORTED or self._pending is None:
                raise NPipesError('server is closed')
        nxt = (self._new_instance(first=False)
               if self._max_instances != 1 else None)
        with self._lock:
            handed_over = self._pending is handle
            if handed_over:
                self._pending = nxt
        if not handed_over:
            # close() ran since the client connected (and closed its handle):
            # the server stays closed; the instance just made goes too.
            if nxt is not None:
                _winapi.CloseHandle(nxt)
            raise NPipesError('server is closed')
        stream = self._admit(handle)
        # A refused client (closed unread): wait for the next one.
        return stream if stream is not None else \
            self.accept(deadline, check_owner)

    def _admit(self, handle: int) -> Optional[Stream]:
        """§3: read the client's token once; one the rule does not admit
        (only if the DACL was changed under us) is closed unread.  An
        unreadable token leaves the DACL's decision standing."""
        peer, groups = client_identity(handle)
        if peer.sid is None or self.rule.admits(peer, groups):
            return Stream(handle, peer)
        _winapi.CloseHandle(handle)
        if self.on_refused is not None:
            self.on_refused(peer)
        return None

    @typed_os_errors
    def close(self) -> None:
        with self._lock:
            handle, self._pending = self._pending, None
            ov = self._ov
        if ov is not None:
            ov.cancel()              # wakes a thread blocked in accept()
        if handle is not None:
            _winapi.CloseHandle(handle)


def _open(path: str, deadline: Deadline) -> Optional[int]:
    """CreateFile the pipe as a client; None if no instance exists."""
    while True:
        try:
            handle = _winapi.CreateFile(
                path, _winapi.GENERIC_READ | _winapi.GENERIC_WRITE, 0,
                _winapi.NULL, _winapi.OPEN_EXISTING,
                _winapi.FILE_FLAG_OVERLAPPED, _winapi.NULL)
        except OSError as exc:
            if exc.winerror == ERROR_FILE_NOT_FOUND:
                return None
            if exc.winerror != ERROR_PIPE_BUSY:
                raise
            # Every instance is busy: wait until one is free, then retry.
            try:
                _winapi.WaitNamedPipe(path, _millis(deadline, 'connect',
                                                    NMPWAIT_WAIT_FOREVER))
            except OSError as exc2:
                if exc2.winerror == ERROR_SEM_TIMEOUT:
                    raise PipeTimeoutError(f'connect to {path} timed out '
                                           f'(all instances busy)') from None
                # The pipe went away while we waited (Wine says so with 676,
                # ERROR_HANDLES_CLOSED, when its last instance closes): retry.
                if exc2.winerror not in (ERROR_FILE_NOT_FOUND,
                                         ERROR_HANDLES_CLOSED):
                    raise
            continue
        try:
            _winapi.SetNamedPipeHandleState(
                handle, _winapi.PIPE_READMODE_MESSAGE, None, None)
        except BaseException:
            _winapi.CloseHandle(handle)
            raise
        return handle


def _trusted(handle: int, name: str, path: str, trust: WindowsRule) -> Stream:
    """§4: the Stream of client *handle* if *trust* admits the server
    process's user; else closed, PipeAccessError (never retried)."""
    try:
        server, groups = server_identity(handle)
    except BaseException:
        _winapi.CloseHandle(handle)
        raise
    if not trust.admits(server, groups):
        _winapi.CloseHandle(handle)
        raise trust.refusal(name, path, server)
    return Stream(handle, server)


def _attempts(name: str, deadline: Deadline,
              access: Union[bool, Policy]) -> Iterator[Optional[Stream]]:
    """One turn each (backed off): the connected Stream whose server passes
    *access*' ``trust`` rule if an instance exists, else None."""
    path = pipe_address(name)
    trust = WindowsRule(policy(access).trust)
    for _ in backoff(deadline):
        handle = _open(path, deadline)
        yield None if handle is None else _trusted(handle, name, path, trust)


@typed_os_errors
def connect(name: str, deadline: Deadline,
            access: Union[bool, Policy] = False) -> Stream:
    """Connect to the server of pipe *name*, waiting for it to appear; the
    server process's user must pass *access*' ``trust`` rule, checked
    before a byte moves (docs/access.md §4)."""
    for stream in _attempts(name, deadline, access):
        if stream is not None:
            return stream
        deadline.remaining(f'connect to pipe {name!r}')
    raise AssertionError('unreachable: backoff() never ends')


@typed_os_errors
def rendezvous(name: str, deadline: Deadline,
               access: Union[bool, Policy] = False,
               receiver: bool = False) -> Stream:
    """Meet the other side of pipe *name*, whichever starts first.

    Connect if an instance exists; otherwise a sender creates the pipe (ONE
    instance, first-instance flag, like npipes) and waits for one client.
    Losing the creation race (PipeNameInUseError) means the peer just
    created it: go back to connecting.  A *receiver* only connects: npipes
    1.0.1's sender can only create the pipe, so a receiver that created it
    first would lock that sender out (as .NET's receiver, it waits).
    """
    if receiver:
        return connect(name, deadline, access)
    for stream in _attempts(name, deadline, access):
        if stream is not None:
            return stream
        try:
            server = Server(pipe_address(name), access, max_instances=1)
        except PipeNameInUseError:
            continue
        try:
            return server.accept(deadline)
        finally:
            server.close()
    raise AssertionError('unreachable: backoff() never ends')
