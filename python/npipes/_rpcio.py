"""Frames on a Connection for one reader thread and one writer thread at once.

A Connection's own send/recv wait with a deadline per call, and a Connection
is not meant to be used by several threads at once.  So the RPC engine takes
the Connection's stream over: where the stream offers two-thread I/O (its
``duplex`` capability: a Unix socket made non-blocking for good, every wait
a poll() of its own, so the reader's timeout never touches the writer and
shutdown() wakes both) it uses that; otherwise (a Windows pipe, whose
overlapped handle already gives every call its own wait) the stream itself.
"""

from __future__ import annotations

from typing import Optional

from ._session import Timeouts, peer_gone
from ._util import Buffer, Deadline, Duplex
from .connection import Connection
from .errors import ConnectionClosedError, NPipesError
from .message import FrameDecoder, encode_frame

__all__ = ['FrameIO']

_FOREVER = Deadline(None)


class FrameIO:
    """A frame reader/writer for one reader thread and one writer thread."""

    def __init__(self, conn: Connection) -> None:
        stream = conn.transport_stream
        if stream is None:
            raise ConnectionClosedError('the connection is already closed',
                                        reason='closed')
        self._conn, self._stream = conn, stream
        make = stream.capabilities().duplex
        self._duplex: Optional[Duplex] = None if make is None else make()
        #: send_some() never blocks: a poster may write before the writer.
        self.direct = self._duplex is not None
        self._crc, self._endian = conn.crc, conn.endian
        self._max_payload = conn.max_payload
        self._decoder = FrameDecoder(crc=conn.crc, endian=conn.endian,
                                     max_payload=conn.max_payload)
        #: The connection's idle and frame timeouts, and when the frame
        #: being received started: what the engine's read limit comes from.
        self.clock = Timeouts(conn.idle_timeout, conn.frame_timeout)

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """One payload.  PipeTimeoutError after *timeout* seconds (a partial
        frame is kept for the next call); ConnectionClosedError at a clean
        end, IncompleteFrameError if the peer left mid-frame."""
        decoder, duplex = self._decoder, self._duplex
        deadline = Deadline(timeout)
        while True:
            view = decoder.want()
            if duplex is not None:
                n = duplex.recv_into(view, deadline)
            else:
                try:
                    n = self._stream.recv_into(view, deadline)
                except ConnectionClosedError:
                    n = 0                      # a reset: the peer is gone
            if n == 0:
                raise peer_gone(decoder.in_frame)
            payload = decoder.advance(n)
            if payload is not None:
                self.clock.frame_done(False)
                return payload
            self.clock.bytes_arrived()

    def encode(self, payload: bytes) -> bytes:
        """The frame for *payload* (what send() and send_some() take)."""
        return encode_frame(payload, crc=self._crc, endian=self._endian,
                            max_payload=self._max_payload)

    def send_some(self, view: memoryview) -> memoryview:
        """Write what can be written now; return the rest (without two-
        thread I/O: all of it, blocking; the engine does not call it)."""
        if self._duplex is not None:
            return self._duplex.send_some(view)
        self.send(view)
        return view[len(view):]

    def send(self, view: Buffer) -> None:
        """Write all of *view*; only shutdown() (or the peer leaving) ends
        a wait."""
        if self._duplex is not None:
            self._duplex.send(view)
        else:
            self._stream.send(bytes(view), _FOREVER)

    def shutdown(self) -> None:
        """Wake a thread waiting in recv() or send(): both then fail."""
        if self._duplex is not None:
            self._duplex.shutdown()
            return
        # Closing the handle ends the reads and writes pending on it.
        try:
            self._conn.close()
        except NPipesError:
            pass

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

