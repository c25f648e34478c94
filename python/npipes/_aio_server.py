"""asyncio servers: npipes.Listener as coroutines, with the same limits and
the same peer rule."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Awaitable, Callable, Optional, Set

from . import _aio_platform as platform
from . import transport
from ._aio_connection import Connection, ConnectionOptions, open_connection
from ._util import positive_or_none
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     DEFAULT_PIPE_NAME)
from .errors import ConnectionClosedError, NPipesError
from .listener import DEFAULT_MAX_CONNECTIONS
from .message import struct_prefix

__all__ = ['Listener', 'start_server', 'Handler', 'ErrorCallback']

log = logging.getLogger('npipes')
#: ``await handler(connection)``, one task per client.
Handler = Callable[[Connection], Awaitable[object]]
#: ``on_error(connection, exception)`` (the connection is None when
#: accepting failed); it may be a coroutine function.
ErrorCallback = Callable[[Optional[Connection], BaseException], object]


class Listener:
    """Serve pipe *name* to many clients: the asyncio twin of
    :class:`npipes.Listener`, created with ``await Listener.create(...)``
    or :func:`start_server`.

    Same rules: PipeNameInUseError / PipePathOccupiedError when the name is
    taken; socket file 0600, and clients of another user dropped unread
    (``refused_peers``) unless ``allow_other_users``; at most
    ``max_connections`` open connections (one more is closed unread,
    ``refused_connections``); ``idle_timeout`` and ``frame_timeout`` given
    to every connection; a connection's errors go to ``on_error(conn,
    exc)`` and the ``'npipes'`` logger, never to stderr.
    """

    def __init__(self, server: transport.Server, name: str,
                 options: ConnectionOptions, max_connections: int,
                 on_error: Optional[ErrorCallback]) -> None:
        self._server = server
        self._acceptor = platform.acceptor(server)
        self.name = name
        self.address = server.path
        self.max_connections = max_connections
        self.on_error = on_error
        self._options = options
        self._active = 0
        self._refused = 0
        self._refused_peers = 0
        self._handlers: Set[asyncio.Future[None]] = set()
        self._serving: Optional[asyncio.Future[None]] = None
        server.on_refused = self._peer_refused

    @classmethod
    async def create(cls, name: str = DEFAULT_PIPE_NAME, *, crc: bool = False,
                     endian: str = DEFAULT_ENDIAN,
                     encoding: str = DEFAULT_ENCODING,
                     max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                     allow_other_users: bool = False, backlog: int = 64,
                     max_connections: int = DEFAULT_MAX_CONNECTIONS,
                     idle_timeout: Optional[float] = None,
                     frame_timeout: Optional[float] = None,
                     on_error: Optional[ErrorCallback] = None
                     ) -> Listener:
        struct_prefix(endian)
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f'max_connections must be an int >= 1, got '
                             f'{max_connections!r}')
        options = ConnectionOptions(
            crc=crc, endian=endian, encoding=encoding,
            max_payload=max_payload,
            idle_timeout=positive_or_none('idle_timeout', idle_timeout),
            frame_timeout=positive_or_none('frame_timeout', frame_timeout))
        server = await platform.create_server(name, allow_other_users,
                                              backlog)
        try:
            return cls(server, name, options, max_connections, on_error)
        except BaseException:
            server.close()
            raise

    # -- counters ----------------------------------------------------------
    @property
    def active_connections(self) -> int:
        return self._active

    @property
    def refused_connections(self) -> int:
        return self._refused

    @property
    def refused_peers(self) -> int:
        return self._refused_peers

    def _peer_refused(self, uid: Optional[int]) -> None:
        self._refused_peers += 1
        log.warning('%s: dropped a client of %s (current user only)',
                    self.address, 'unknown uid' if uid is None else f'uid {uid}')

    def _released(self) -> None:
        self._active -= 1

    # -- accepting ---------------------------------------------------------
    async def accept(self, timeout: Optional[float] = None) -> Connection:
        """Wait up to *timeout* seconds (None: forever) for a client."""
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        while True:
            left = None if end is None else max(0.0, end - loop.time())
            endpoint = await self._acceptor.accept(left)
            if self._active < self.max_connections:
                break
            self._refused += 1
            endpoint.close()                # before a byte is read
            log.warning('%s: refused a client: %d connections open '
                        '(max_connections)', self.address, self.max_connections)
        self._active += 1
        try:
            return await open_connection(endpoint, self.address,
                                         self._options,
                                         on_close=self._released)
        except BaseException:
            self._released()
            raise

    async def serve_forever(self, handler: Handler) -> None:
        """Run ``await handler(conn)`` in a task per client until
        :meth:`close`; the connection is closed when the handler returns.
        A client leaving (ConnectionClosedError 'peer closed') ends it
        quietly; other errors go to ``on_error`` and the logger."""
        while True:
            try:
                conn = await self.accept()
            except NPipesError as exc:
                if self.closed:
                    return
                await self._report(None, exc)
                raise
            task = asyncio.ensure_future(self._run_handler(handler, conn))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _run_handler(self, handler: Handler,
                           conn: Connection) -> None:
        try:
            await handler(conn)
        except ConnectionClosedError as exc:
            if exc.reason == 'peer closed':
                log.debug('%s: client left', self.address)
            else:
                await self._report(conn, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._report(conn, exc)
        finally:
            await conn.aclose()

    async def _report(self, conn: Optional[Connection],
                      exc: BaseException) -> None:
        if isinstance(exc, NPipesError):
            log.warning('%s: connection error: %s', self.address, exc)
        else:
            log.error('%s: handler failed', self.address, exc_info=exc)
        if self.on_error is not None:
            try:
                result = self.on_error(conn, exc)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception('%s: on_error callback failed', self.address)

    # -- lifetime ----------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._server.closed

    def close(self) -> None:
        """Stop accepting and remove the socket file (if still ours).
        Connections already accepted go on."""
        self._acceptor.close()

    async def wait_closed(self) -> None:
        """Wait for :meth:`serve_forever` (started by start_server) to end."""
        if self._serving is not None:
            try:
                await self._serving
            except (asyncio.CancelledError, NPipesError):
                pass

    async def aclose(self) -> None:
        self.close()
        await self.wait_closed()

    async def __aenter__(self) -> Listener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f'<aio.Listener {self.address!r}>'


async def start_server(handler: Handler, name: str = DEFAULT_PIPE_NAME, *,
                       crc: bool = False, endian: str = DEFAULT_ENDIAN,
                       encoding: str = DEFAULT_ENCODING,
                       max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                       allow_other_users: bool = False, backlog: int = 64,
                       max_connections: int = DEFAULT_MAX_CONNECTIONS,
                       idle_timeout: Optional[float] = None,
                       frame_timeout: Optional[float] = None,
                       on_error: Optional[ErrorCallback] = None) -> Listener:
    """Create a :class:`Listener` and serve ``handler`` in the background
    (``await listener.wait_closed()`` to wait for it; ``close()`` stops)."""
    listener = await Listener.create(
        name, crc=crc, endian=endian, encoding=encoding,
        max_payload=max_payload, allow_other_users=allow_other_users,
        backlog=backlog, max_connections=max_connections,
        idle_timeout=idle_timeout, frame_timeout=frame_timeout,
        on_error=on_error)
    listener._serving = asyncio.ensure_future(listener.serve_forever(handler))
    return listener
