"""A server for one pipe name that accepts many clients."""

from __future__ import annotations

import threading
import time
from typing import Callable, List, Optional, Union

from . import transport
from ._serving import DEFAULT_MAX_CONNECTIONS as DEFAULT_MAX_CONNECTIONS
from ._serving import Serving, connection_options, log, server_policy
from .access import Entries
from ._util import Deadline
from .connection import Connection
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     DEFAULT_PIPE_NAME)
from .errors import NPipesError
from .sharedmemory import SharedMemory

__all__ = ['Listener', 'echo_handler']

#: ``on_error(connection, exception)``; the connection is None when the
#: error is the listener's own (accepting failed).
ErrorCallback = Callable[[Optional[Connection], BaseException], None]
#: ``handler(connection)`` for :meth:`Listener.serve_forever`.
Handler = Callable[[Connection], None]


class Listener(Serving):
    """Serve pipe *name*: ``accept()`` returns one Connection per client.

    Raises PipeNameInUseError if another live server has the name, and
    PipePathOccupiedError if something that is not a socket is at its path;
    a stale socket file of ours left by a dead server is replaced.

    Who may connect (docs/access.md §3): the current user, plus
    ``allow_users`` (names, uids, SIDs), members of ``allow_groups``
    (names, gids, SIDs; supplementary membership counts), or
    ``allow_everyone=True`` (``allow_other_users=True`` is the 0.2.0
    shorthand for it).  An unknown name is a ValueError before the name is
    claimed.  Unix: the kernel's word on each client is checked before a
    byte is read; a client not admitted is closed unread and counted in
    ``refused_peers``; the socket file is 0600, 0660 for one group, else
    0666.  Windows: the pipe's DACL holds exactly those accounts.  Every
    Connection's ``peer`` tells who the client is.
    ``close()`` removes the socket file if it is still ours.

    Limits, as NPipes' .NET PipeServer: at most ``max_connections``
    (default DEFAULT_MAX_CONNECTIONS: 768 under the common open-file limit
    of 1,024) connections are open at once; a client beyond that is
    accepted and closed before a byte is read (``refused_connections``).
    ``idle_timeout`` and ``frame_timeout`` (seconds, default None: never)
    are given to every connection (see Connection).  Errors of one
    connection are reported to ``on_error(connection, exception)`` and to
    the ``'npipes'`` logger, never printed; the other connections go on.
    ``shared_memory`` is every connection's (see Connection).
    """

    def __init__(self, name: str = DEFAULT_PIPE_NAME, *, crc: bool = False,
                 endian: str = DEFAULT_ENDIAN,
                 encoding: str = DEFAULT_ENCODING,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                 allow_other_users: bool = False,
                 allow_users: Optional[Entries] = None,
                 allow_groups: Optional[Entries] = None,
                 allow_everyone: bool = False, backlog: int = 64,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 idle_timeout: Optional[float] = None,
                 frame_timeout: Optional[float] = None,
                 on_error: Optional[ErrorCallback] = None,
                 shared_memory: Union[SharedMemory, bool, None] = None
                 ) -> None:
        self._options = connection_options(
            max_connections, crc=crc, endian=endian, encoding=encoding,
            max_payload=max_payload, idle_timeout=idle_timeout,
            frame_timeout=frame_timeout, shared_memory=shared_memory)
        self.name = name
        self.max_connections = max_connections
        self.on_error = on_error
        self._start_counting()
        access = server_policy(allow_other_users, allow_users, allow_groups,
                               allow_everyone)
        self._server = transport.Server.create(name, access, backlog)
        self._server.on_refused = self._peer_refused
        self.address: str = self._server.path
        self._listening()

    # -- accepting ---------------------------------------------------------
    def accept(self, timeout: Optional[float] = None) -> Connection:
        """Wait up to *timeout* seconds (None: forever) for a client."""
        deadline = Deadline(timeout)
        stream = self._server.accept(deadline)
        while not self._admit():
            stream.close()               # before a byte is read or written
            stream = self._server.accept(deadline)
        try:
            conn = Connection(stream, on_close=self._released,
                              **self._options)
        except BaseException:
            stream.close()
            self._released()
            raise
        self._accepted(conn.peer)
        return conn

    def serve_forever(self, handler: Handler) -> List[threading.Thread]:
        """Run ``handler(conn)`` in a new thread for every client until
        :meth:`close` is called (from another thread or a signal handler).

        The connection is closed when the handler returns.  A clean close by
        the client (ConnectionClosedError) ends it quietly; any other
        exception, idle and frame timeouts included, is reported to
        ``on_error`` and the ``'npipes'`` logger.  There are never more
        handler threads than ``max_connections``.  An accept that fails
        (out of file descriptors, say) never ends serving: it is counted
        (``failed_accepts``), reported (the AcceptFailed log event and
        ``on_error(None, exc)``) and retried after a pause of 10 ms
        doubling to 1 s.  Returns the handler
        threads still running (daemon threads), to join if wanted.
        """
        threads: List[threading.Thread] = []
        while True:
            try:
                conn = self.accept()
            except NPipesError as exc:
                if self.closed:
                    break
                pause = self._accept_failed(exc)   # EMFILE: never fatal
                self._report(None, exc)
                time.sleep(pause)
                continue
            t = threading.Thread(target=self._run_handler,
                                 args=(handler, conn), daemon=True)
            t.start()
            threads = [x for x in threads if x.is_alive()] + [t]
        return [x for x in threads if x.is_alive()]

    def _run_handler(self, handler: Handler, conn: Connection) -> None:
        error: Optional[BaseException] = None
        with conn:
            try:
                handler(conn)
            except Exception as exc:
                error = exc
            if self._ended(error) and error is not None:
                self._report(conn, error)

    def _report(self, conn: Optional[Connection],
                exc: BaseException) -> None:
        self._log_error(exc)
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
            self._stopped()

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
