"""A server for one pipe name that accepts many clients."""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, List, Optional

from . import transport
from ._util import Deadline
from .connection import Connection, _positive_or_none
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     DEFAULT_PIPE_NAME)
from .errors import ConnectionClosedError, FrameError, NPipesError
from .message import struct_prefix
from ._log import error_type, event

__all__ = ['Listener', 'echo_handler']

log = logging.getLogger('npipes')   # events: see _log.py

DEFAULT_MAX_CONNECTIONS = 1024

#: ``on_error(connection, exception)``; the connection is None when the
#: error is the listener's own (accepting failed).
ErrorCallback = Callable[[Optional[Connection], BaseException], None]
#: ``handler(connection)`` for :meth:`Listener.serve_forever`.
Handler = Callable[[Connection], None]


class Listener:
    """Serve pipe *name*: ``accept()`` returns one Connection per client.

    Raises PipeNameInUseError if another live server has the name, and
    PipePathOccupiedError if something that is not a socket is at its path;
    a stale socket file of ours left by a dead server is replaced.  On Unix
    the socket file is mode 0600 and clients of another uid are dropped
    (counted in ``refused_peers``) unless ``allow_other_users=True``.
    ``close()`` removes the socket file if it is still ours.

    Limits, as NPipes' .NET PipeServer: at most ``max_connections`` (default
    1024) connections are open at once; a client beyond that is accepted and
    closed before a byte is read (counted in ``refused_connections``).
    ``idle_timeout`` and ``frame_timeout`` (seconds, default None: never)
    are given to every connection (see Connection).  Errors of one
    connection are reported to ``on_error(connection, exception)`` and to
    the ``'npipes'`` logger, never printed; the other connections go on.
    """

    def __init__(self, name: str = DEFAULT_PIPE_NAME, *, crc: bool = False,
                 endian: str = DEFAULT_ENDIAN,
                 encoding: str = DEFAULT_ENCODING,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                 allow_other_users: bool = False, backlog: int = 64,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 idle_timeout: Optional[float] = None,
                 frame_timeout: Optional[float] = None,
                 on_error: Optional[ErrorCallback] = None) -> None:
        struct_prefix(endian)            # reject a bad endian up front
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f'max_connections must be an int >= 1, got '
                             f'{max_connections!r}')
        self.name = name
        self.max_connections = max_connections
        self.on_error = on_error
        self._options: Dict[str, Any] = dict(
            crc=crc, endian=endian, encoding=encoding,
            max_payload=max_payload,
            idle_timeout=_positive_or_none('idle_timeout', idle_timeout),
            frame_timeout=_positive_or_none('frame_timeout', frame_timeout))
        self._lock = threading.Lock()
        self._active = 0
        self._refused = 0
        self._refused_peers = 0
        self._server = transport.Server.create(name, allow_other_users,
                                               backlog)
        self._server.on_refused = self._peer_refused
        self.address: str = self._server.path
        event('ServerListening', "Listening on pipe '%s' (at most %d connections)",
              name, max_connections)

    # -- counters ----------------------------------------------------------
    @property
    def active_connections(self) -> int:
        """Connections handed out and not yet closed."""
        return self._active

    @property
    def refused_connections(self) -> int:
        """Clients closed at once because max_connections were open."""
        return self._refused

    @property
    def refused_peers(self) -> int:
        """Clients dropped because they run as another user (Unix)."""
        return self._refused_peers

    def _peer_refused(self, uid: Optional[int]) -> None:
        with self._lock:
            self._refused_peers += 1
        event('ConnectionRefused', "Connection refused on pipe '%s': %s (peer uid %s)",
              self.name, 'access', 'unknown' if uid is None else uid)

    def _released(self) -> None:
        with self._lock:
            self._active -= 1

    # -- accepting ---------------------------------------------------------
    def accept(self, timeout: Optional[float] = None) -> Connection:
        """Wait up to *timeout* seconds (None: forever) for a client."""
        deadline = Deadline(timeout)
        while True:
            stream = self._server.accept(deadline)
            with self._lock:
                admitted = self._active < self.max_connections
                if admitted:
                    self._active += 1
                else:
                    self._refused += 1
            if admitted:
                break
            stream.close()               # before a byte is read or written
            event('ConnectionRefused', "Connection refused on pipe '%s': %s (%d connections open)",
                  self.name, 'limit', self.max_connections)
        try:
            conn: Connection = Connection(stream, **self._options)
        except BaseException:
            stream.close()
            self._released()
            raise
        conn._on_close = self._released
        event('ConnectionAccepted', "Connection accepted on pipe '%s'", self.name)
        return conn

    def serve_forever(self, handler: Handler) -> List[threading.Thread]:
        """Run ``handler(conn)`` in a new thread for every client until
        :meth:`close` is called (from another thread or a signal handler).

        The connection is closed when the handler returns.  A clean close by
        the client (ConnectionClosedError) ends it quietly; any other
        exception, idle and frame timeouts included, is reported to
        ``on_error`` and the ``'npipes'`` logger.  There are never more
        handler threads than ``max_connections``.  Returns the handler
        threads still running (daemon threads), to join if wanted.
        """
        threads: List[threading.Thread] = []
        while True:
            try:
                conn = self.accept()
            except NPipesError as exc:
                if self.closed:
                    break
                event('AcceptFailed', "Accepting a client on pipe '%s' failed",
                      self.name, exc_info=exc)
                self._report(None, exc)
                raise
            t = threading.Thread(target=self._run_handler,
                                 args=(handler, conn), daemon=True)
            t.start()
            threads = [x for x in threads if x.is_alive()] + [t]
        return [x for x in threads if x.is_alive()]

    def _run_handler(self, handler: Handler, conn: Connection) -> None:
        reason = 'PeerClosed'
        with conn:
            try:
                handler(conn)
                reason = 'LocalClose'
            except ConnectionClosedError as exc:
                if exc.reason == 'idle timeout':
                    reason = 'IdleTimeout'
                elif exc.reason == 'frame timeout':
                    reason = 'FrameTimeout'
                if exc.reason != 'peer closed':
                    self._report(conn, exc)
            except Exception as exc:
                reason = 'ProtocolError' if isinstance(exc, NPipesError) else 'HandlerError'
                self._report(conn, exc)
        event('ConnectionClosed', "Connection on pipe '%s' closed: %s", self.name, reason)

    def _report(self, conn: Optional[Connection],
                exc: BaseException) -> None:
        if isinstance(exc, FrameError):
            event('FrameError', "Frame error %s on pipe '%s': %s",
                  error_type(exc), self.name, exc)
        elif isinstance(exc, NPipesError):
            log.warning('%s: connection error: %s', self.address, exc)
        else:
            event('HandlerFailed', "The handler of a connection on pipe '%s' threw; that connection is closed",
                  self.name, exc_info=exc)
        if self.on_error is not None:
            try:
                self.on_error(conn, exc)
            except Exception:             # a failing callback must not stop us
                log.exception('%s: on_error callback failed',
                              self.address)

    # -- lifetime ----------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._server.closed

    def close(self) -> None:
        if not self._server.closed:
            self._server.close()
            event('ServerStopped', "Stopped serving pipe '%s'", self.name)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.address!r}>'


def echo_handler(conn: Connection) -> None:
    """Answer every frame with the same payload until the client leaves."""
    while True:
        conn.send(conn.recv())
