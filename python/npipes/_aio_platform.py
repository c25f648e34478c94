"""npipes' endpoints under asyncio, with the threaded API's rules unchanged.

The blocking endpoint steps (claim a name, connect, rendezvous: _unix.py and
_windows.py, not a line copied) run in a thread of their own whose deadline
is cut into SLICE-second waits, so that a cancelled coroutine stops it
within SLICE seconds.  The connected socket (Unix) or overlapped pipe handle
(Windows, proactor loop) is then handed to asyncio.  On Unix the listener
accepts in the event loop and runs the listener's own peer check (same user,
or ``allow_other_users``) on every accepted socket before a byte is read.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import sys
import threading
from typing import (Awaitable, Callable, Deque, Optional, Protocol, Tuple,
                    TypeVar, Union)

from . import transport
from ._util import Deadline, typed_os_error
from .errors import NPipesError, PipeTimeoutError

__all__ = ['run_blocking', 'open_stream', 'acceptor', 'Acceptor', 'Endpoint',
           'SLICE']

#: The longest a blocking step runs on after its coroutine was cancelled.
SLICE = 0.1
#: StreamReader buffer limit: reads are at most one 64 KiB decoder chunk.
READ_LIMIT = 256 * 1024

_T = TypeVar('_T')

if sys.platform == 'win32':
    #: A connected endpoint: a transport Stream (a pipe handle).
    Endpoint = transport.Stream
else:
    #: A connected endpoint: an accepted socket, or a transport Stream.
    Endpoint = Union[socket.socket, transport.Stream]


class Acceptor(Protocol):
    """The accept side of a transport Server for the running loop."""

    def accept(self, timeout: Optional[float]) -> Awaitable[Endpoint]:
        """The next client (its peer already checked)."""

    def close(self) -> None:
        """Stop accepting; close the Server."""


class _Stopped(NPipesError):
    """The coroutine that waited for this step was cancelled."""


class _SlicedDeadline(Deadline):
    """A Deadline whose waits last at most SLICE seconds, and which stops
    the step (raises _Stopped) once *stop* is set."""

    __slots__ = ('_stop',)

    def __init__(self, timeout: Optional[float],
                 stop: threading.Event) -> None:
        super().__init__(timeout)
        self._stop = stop

    def remaining(self, what: str = 'operation') -> float:
        if self._stop.is_set():
            raise _Stopped(f'{what}: cancelled')
        left = super().remaining(what)
        return SLICE if left is None else min(left, SLICE)

    def expired(self) -> bool:
        try:
            Deadline.remaining(self)
        except PipeTimeoutError:
            return True
        return False


def _dispose(value: object) -> None:
    close = getattr(value, 'close', None)
    if close is not None:
        try:
            close()
        except (NPipesError, OSError):
            pass


async def run_blocking(step: Callable[[Deadline], _T],
                       timeout: Optional[float]) -> _T:
    """Run ``step(deadline)`` in a new daemon thread and return its result.

    *timeout* (seconds, None: no limit) bounds it as it bounds the threaded
    API.  If the awaiting coroutine is cancelled the step stops within
    SLICE seconds, and what it produced meanwhile is closed.  On Windows a
    wait ended only by a slice raises PipeTimeoutError inside the step,
    which is then simply run again.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[_T] = loop.create_future()
    stop = threading.Event()

    def deliver(value: _T) -> None:
        if fut.done():                     # cancelled meanwhile
            _dispose(value)
        else:
            fut.set_result(value)

    def fail(exc: BaseException) -> None:
        if not fut.done():
            fut.set_exception(exc)

    def work() -> None:
        deadline = _SlicedDeadline(timeout, stop)
        try:
            while True:
                try:
                    value = step(deadline)
                    break
                except PipeTimeoutError:
                    if stop.is_set() or deadline.expired():
                        raise
        except BaseException as exc:       # noqa: B902 - handed to the loop
            try:
                loop.call_soon_threadsafe(fail, exc)
            except RuntimeError:           # the loop is closed
                pass
            return
        try:
            loop.call_soon_threadsafe(deliver, value)
        except RuntimeError:               # the loop is closed
            _dispose(value)

    threading.Thread(target=work, daemon=True,
                     name='npipes-aio-endpoint').start()
    try:
        return await fut
    finally:
        stop.set()


async def open_stream(endpoint: Endpoint, address: str
                      ) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``(StreamReader, StreamWriter)`` over a connected endpoint: an
    accepted socket, or a transport Stream from connect/rendezvous/accept.
    The endpoint belongs to asyncio afterwards."""
    if sys.platform == 'win32':
        return await _open_pipe(endpoint, address)
    else:      # (an else: a type checker then skips it for Windows)
        sock = endpoint if isinstance(endpoint, socket.socket) \
            else endpoint.raw_socket
        try:
            return await asyncio.open_unix_connection(sock=sock,
                                                      limit=READ_LIMIT)
        except BaseException:
            sock.close()
            raise


if sys.platform == 'win32':
    async def _open_pipe(stream: transport.Stream, address: str
                         ) -> Tuple[asyncio.StreamReader,
                                    asyncio.StreamWriter]:
        """Windows: the overlapped pipe handle of *stream* on the
        proactor."""
        from asyncio import windows_utils
        loop = asyncio.get_running_loop()
        if not isinstance(loop, asyncio.ProactorEventLoop):
            stream.close()
            raise NPipesError('npipes.aio needs the proactor event loop on '
                              'Windows (asyncio\'s default since Python 3.8)')
        pipe = windows_utils.PipeHandle(stream.detach())
        reader = asyncio.StreamReader(limit=READ_LIMIT)
        protocol = asyncio.StreamReaderProtocol(reader)
        waiter = loop.create_future()
        # What loop.create_pipe_connection does after its own connect (no
        # public API takes a pipe handle that is already connected; the
        # proactor's factory is not in typeshed).
        make_transport: Callable[..., asyncio.Transport] = getattr(
            loop, '_make_duplex_pipe_transport')
        try:
            transport_ = make_transport(pipe, protocol, waiter,
                                        extra={'addr': address})
            await waiter
        except BaseException:
            pipe.close()
            raise
        return reader, asyncio.StreamWriter(transport_, protocol, reader,
                                            loop)


def acceptor(server: transport.Server) -> Acceptor:
    """The accept side of a transport Server for the running loop."""
    if sys.platform == 'win32':
        return _ThreadAcceptor(server)
    else:
        return _UnixAcceptor(server)


if sys.platform != 'win32':
    from ._unix import Server as _UnixServer

    class _UnixAcceptor:
        """accept() in the event loop: readable listening socket -> accept
        -> the Server's peer check (a refused peer is closed unread, and
        counted through ``on_refused``) -> the waiting coroutine."""

        def __init__(self, server: _UnixServer) -> None:
            sock = server.listening_socket      # non-blocking
            if sock is None:
                raise NPipesError('server is closed')
            self._server = server
            self._sock = sock
            self._loop = asyncio.get_running_loop()
            self._waiters: Deque[asyncio.Future[socket.socket]] = \
                collections.deque()
            self._armed = False

        async def accept(self, timeout: Optional[float]) -> socket.socket:
            if self._server.closed:
                raise NPipesError('server is closed')
            fut: asyncio.Future[socket.socket] = self._loop.create_future()
            self._waiters.append(fut)
            self._arm()
            try:
                return await asyncio.wait_for(fut, timeout)
            except asyncio.TimeoutError:
                raise PipeTimeoutError(f'waiting for a client timed out after '
                                       f'{timeout} s') from None
            finally:
                if fut in self._waiters:
                    self._waiters.remove(fut)
                self._arm()

        def _arm(self) -> None:
            want = bool(self._waiters) and not self._server.closed
            if want and not self._armed:
                self._loop.add_reader(self._sock.fileno(), self._readable)
            elif not want and self._armed:
                self._loop.remove_reader(self._sock.fileno())
            self._armed = want

        def _readable(self) -> None:
            while True:
                while self._waiters and self._waiters[0].done():
                    self._waiters.popleft()
                if not self._waiters:
                    break
                try:
                    conn, _ = self._sock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionAbortedError:
                    continue
                except OSError as exc:         # e.g. out of file descriptors
                    self._waiters.popleft().set_exception(typed_os_error(exc))
                    continue
                if not self._server.peer_allowed(conn):
                    conn.close()               # not a byte read or written
                    continue
                self._waiters.popleft().set_result(conn)
            self._arm()

        def close(self) -> None:
            if self._armed:
                self._loop.remove_reader(self._sock.fileno())
                self._armed = False
            while self._waiters:
                fut = self._waiters.popleft()
                if not fut.done():
                    fut.set_exception(NPipesError('server is closed'))
            self._server.close()


class _ThreadAcceptor:
    """Windows: the Server's own accept in a thread, one at a time."""

    def __init__(self, server: transport.Server) -> None:
        self._server = server
        self._lock = asyncio.Lock()

    async def accept(self, timeout: Optional[float]) -> transport.Stream:
        async with self._lock:
            return await run_blocking(self._server.accept, timeout)

    def close(self) -> None:
        self._server.close()


async def create_server(name: str, allow_other_users: bool,
                        backlog: int) -> transport.Server:
    """Claim pipe *name* (transport.Server.create, in a thread: proving a
    stale socket file stale takes 50 ms)."""
    return await run_blocking(
        lambda deadline: transport.Server.create(name, allow_other_users,
                                                 backlog), None)
