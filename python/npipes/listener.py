"""A server for one pipe name that accepts many clients."""

import threading

from . import transport
from ._util import Deadline
from .connection import Connection
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     DEFAULT_PIPE_NAME)
from .errors import ConnectionClosedError, NPipesError
from .message import struct_prefix

__all__ = ['Listener', 'echo_handler']


class Listener:
    """Serve pipe *name*: ``accept()`` returns one Connection per client.

    Raises PipeNameInUseError if another live server has the name; a stale
    socket file left by a dead server is replaced.  On Unix the socket file
    is mode 0600 and clients of another uid are dropped unless
    ``allow_other_users=True``.  ``close()`` removes the socket file.
    """

    def __init__(self, name=DEFAULT_PIPE_NAME, *, crc=False,
                 endian=DEFAULT_ENDIAN, encoding=DEFAULT_ENCODING,
                 max_payload=DEFAULT_MAX_PAYLOAD, allow_other_users=False,
                 backlog=64):
        struct_prefix(endian)            # reject a bad endian up front
        self.name = name
        self._options = dict(crc=crc, endian=endian, encoding=encoding,
                             max_payload=max_payload)
        self._server = transport.Server.create(name, allow_other_users,
                                               backlog)
        self.address = self._server.path

    def accept(self, timeout=None):
        """Wait up to *timeout* seconds (None: forever) for a client."""
        stream = self._server.accept(Deadline(timeout))
        return Connection(stream, **self._options)

    def serve_forever(self, handler):
        """Run ``handler(conn)`` in a new thread for every client until
        :meth:`close` is called (from another thread or a signal handler).

        The connection is closed when the handler returns; a
        ConnectionClosedError from the handler (the client left) ends it
        quietly, any other exception propagates in its thread.  Returns the
        handler threads still running (daemon threads), to join if wanted.
        """
        threads = []
        while True:
            try:
                conn = self.accept()
            except NPipesError:
                if self.closed:
                    break
                raise
            t = threading.Thread(target=_run_handler, args=(handler, conn),
                                 daemon=True)
            t.start()
            threads = [x for x in threads if x.is_alive()] + [t]
        return threads

    @property
    def closed(self):
        return self._server.closed

    def close(self):
        self._server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f'<{type(self).__name__} {self.address!r}>'


def _run_handler(handler, conn):
    with conn:
        try:
            handler(conn)
        except ConnectionClosedError:
            pass


def echo_handler(conn):
    """Answer every frame with the same payload until the client leaves."""
    while True:
        conn.send(conn.recv())
