"""asyncio servers: npipes.Listener as coroutines, with the same limits and
the same peer rule."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable, Optional, Set, cast

from . import transport
from ._aio_connection import Connection, open_connection
from ._aio_platform import Background, run_blocking
from ._serving import (DEFAULT_MAX_CONNECTIONS, Serving, connection_options,
                       log, server_policy)
from ._session import ConnectionOptions
from .access import Entries
from .consts import DEFAULT_PIPE_NAME
from .errors import NPipesError

__all__ = ['Listener', 'start_server', 'Handler', 'ErrorCallback']

#: ``await handler(connection)``, one task per client.
Handler = Callable[[Connection], Awaitable[object]]
#: ``on_error(connection, exception)`` (the connection is None when
#: accepting failed); it may be a coroutine function.
ErrorCallback = Callable[[Optional[Connection], BaseException], object]


class Listener(Serving, Background):
    """Serve pipe *name* to many clients: the asyncio twin of
    :class:`npipes.Listener`, created with ``await Listener.create(...)``
    or :func:`start_server`.

    Same rules: PipeNameInUseError / PipePathOccupiedError when the name is
    taken; the access keywords (``allow_users``, ``allow_groups``,
    ``allow_everyone``) and clients they do not admit dropped unread
    (``refused_peers``); each Connection's ``peer``; at most
    ``max_connections`` open connections (one more is closed unread,
    ``refused_connections``); ``idle_timeout`` and ``frame_timeout`` given
    to every connection; a connection's errors go to ``on_error(conn,
    exc)`` and the ``'npipes'`` logger, never to stderr.
    """

    def __init__(self, server: transport.Server, name: str,
                 options: ConnectionOptions, max_connections: int,
                 on_error: Optional[ErrorCallback]) -> None:
        self._server = server
        self._acceptor = transport.aio_endpoint().acceptor(server)
        self.name = name
        self.address = server.path
        self.max_connections = max_connections
        self.on_error = on_error
        self._options = options
        self._start_counting()
        self._handlers: Set[asyncio.Future[None]] = set()
        server.on_refused = self._peer_refused
        self._listening()

    @classmethod
    async def create(cls, name: str = DEFAULT_PIPE_NAME, *,
                     allow_other_users: bool = False,
                     allow_users: Optional[Entries] = None,
                     allow_groups: Optional[Entries] = None,
                     allow_everyone: bool = False, backlog: int = 64,
                     max_connections: int = DEFAULT_MAX_CONNECTIONS,
                     on_error: Optional[ErrorCallback] = None,
                     **options: Any) -> Listener:
        """Serve pipe *name*: the options of :class:`npipes.Listener`
        (``crc``, ``endian``, ``encoding``, ``max_payload``,
        ``idle_timeout`` and ``frame_timeout`` go to every connection)."""
        checked = cast(ConnectionOptions,
                       connection_options(max_connections, **options))
        access = server_policy(allow_other_users, allow_users, allow_groups,
                               allow_everyone)
        # In a thread: proving a stale socket file stale takes 50 ms.
        server = await run_blocking(
            lambda deadline: transport.Server.create(name, access, backlog),
            None)
        try:
            return cls(server, name, checked, max_connections, on_error)
        except BaseException:
            server.close()
            raise

    # -- accepting ---------------------------------------------------------
    async def accept(self, timeout: Optional[float] = None) -> Connection:
        """Wait up to *timeout* seconds (None: forever) for a client."""
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        while True:
            left = None if end is None else max(0.0, end - loop.time())
            stream = await self._acceptor.accept(left)
            if self._admit():
                break
            stream.close()                  # before a byte is read
        try:
            conn = await open_connection(stream, self.address, self._options,
                                         on_close=self._released)
        except BaseException:
            self._released()
            raise
        self._accepted(conn.peer)
        return conn

    async def serve_forever(self, handler: Handler) -> None:
        """Run ``await handler(conn)`` in a task per client until
        :meth:`close`; the connection is closed when the handler returns.
        A client leaving (ConnectionClosedError 'peer closed') ends it
        quietly; other errors go to ``on_error`` and the logger.  A failed
        accept (out of file descriptors, say) is counted
        (``failed_accepts``), reported and retried after a pause of 10 ms
        doubling to 1 s: it never ends serving."""
        while True:
            try:
                conn = await self.accept()
            except NPipesError as exc:
                if self.closed:
                    return
                pause = self._accept_failed(exc)   # EMFILE: never fatal
                await self._report(None, exc)
                await asyncio.sleep(pause)
                continue
            task = asyncio.ensure_future(self._run_handler(handler, conn))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _run_handler(self, handler: Handler,
                           conn: Connection) -> None:
        error: Optional[BaseException] = None
        try:
            try:
                await handler(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
            if self._ended(error) and error is not None:
                await self._report(conn, error)
        finally:
            await conn.aclose()

    async def _report(self, conn: Optional[Connection],
                      exc: BaseException) -> None:
        self._log_error(exc)
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
        was_open = not self._server.closed
        self._acceptor.close()             # fails the waiting accepts
        if was_open:
            self._stopped()

    def __repr__(self) -> str:
        return f'<aio.Listener {self.address!r}>'


async def start_server(handler: Handler, name: str = DEFAULT_PIPE_NAME,
                       **options: Any) -> Listener:
    """Create a :class:`Listener` (the same options as
    :meth:`Listener.create`) and serve ``handler`` in the background
    (``await listener.wait_closed()`` to wait for it; ``close()`` stops)."""
    listener = await Listener.create(name, **options)
    listener.serve_in_background(listener.serve_forever(handler))
    return listener
