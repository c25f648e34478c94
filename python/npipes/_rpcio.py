"""Frames on a Connection for one reader thread and one writer thread at once.

A Connection's own send/recv wait with a deadline per call, and a Connection
is not meant to be used by several threads at once.  So on Unix the RPC
engine takes the Connection's socket over (_rpcsocket.py: non-blocking for
good, every wait a poll(), so the reader's timeout never touches the writer
and shutdown() wakes both).  On Windows the overlapped handle already gives
every operation its own wait, so the Connection is used as it is.
"""

from __future__ import annotations

import sys
from typing import Optional, Protocol, Union

from .connection import Connection
from .errors import ConnectionClosedError, NPipesError

__all__ = ['FrameIO', 'frame_io']

#: What FrameIO.encode returns and send/send_some take.
Buffer = Union[bytes, bytearray, memoryview]


class FrameIO(Protocol):
    """A frame reader/writer for one reader thread and one writer thread."""

    #: time.monotonic() at the first byte of a frame being received (None
    #: between frames): what the engine's frame timeout counts from.
    frame_started: Optional[float]
    #: send_some() never blocks: a poster may write before the writer thread.
    direct: bool

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """One payload.  PipeTimeoutError after *timeout* seconds (a partial
        frame is kept for the next call); ConnectionClosedError at a clean
        end, IncompleteFrameError if the peer left mid-frame."""

    def encode(self, payload: bytes) -> bytes:
        """What send() and send_some() take for *payload*."""

    def send_some(self, view: memoryview) -> memoryview:
        """Write what can be written now; return the rest."""

    def send(self, view: Buffer) -> None:
        """Write all of *view*; only shutdown() (or the peer leaving) ends
        a wait."""

    def shutdown(self) -> None:
        """Wake a thread waiting in recv() or send(): both then fail."""

    def close(self) -> None:
        """Close the connection."""


def frame_io(conn: Connection) -> FrameIO:
    """A frame reader/writer over *conn* (an open npipes Connection)."""
    if conn.closed:
        raise ConnectionClosedError('the connection is already closed',
                                    reason='closed')
    if sys.platform == 'win32':
        return _ConnectionFrames(conn)
    else:      # (an else: a type checker then skips it for Windows)
        from ._rpcsocket import SocketFrames
        return SocketFrames(conn)


class _ConnectionFrames:
    """Windows: the Connection itself (overlapped I/O, one wait per call)."""

    direct = False

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.frame_started: Optional[float] = None

    def recv(self, timeout: Optional[float] = None) -> bytes:
        try:
            return self._conn.recv(timeout)
        finally:
            self.frame_started = self._conn.frame_started

    def encode(self, payload: bytes) -> bytes:
        return payload                 # Connection.send frames it

    def send_some(self, view: memoryview) -> memoryview:
        """Not used (direct is False): writes all of *view*, blocking."""
        self.send(view)
        return view[len(view):]

    def send(self, view: Buffer) -> None:
        self._conn.send(bytes(view))

    def shutdown(self) -> None:
        # Closing the handle ends the reads and writes pending on it.
        try:
            self._conn.close()
        except NPipesError:
            pass

    def close(self) -> None:
        self._conn.close()
