"""The RPC engine's frames on Unix: the Connection's socket taken over.

A Connection's own send/recv wait per call; two threads doing that at once
would steal each other's waits.  So the RPC engine takes the socket over
(through the transport's documented accessors: Connection.transport_stream,
_unixsock.Stream.raw_socket), keeps it non-blocking for good and waits with
poll(): the reader's timeout never touches the writer, and shutdown() wakes
both.  The frame codec is message.py's.
"""

from __future__ import annotations

import select
import socket
import time
from typing import Optional

from ._rpcio import Buffer
from ._unixsock import Stream
from ._util import Deadline, typed_os_error
from .connection import Connection
from .errors import ConnectionClosedError, IncompleteFrameError
from .message import FrameDecoder, encode_frame

__all__ = ['SocketFrames']

#: Sends never raise SIGPIPE (macOS has SO_NOSIGPIPE set by the Stream).
_MSG_NOSIGNAL: int = getattr(socket, 'MSG_NOSIGNAL', 0)


class SocketFrames:
    """Unix: a non-blocking socket, poll() for every wait."""

    def __init__(self, conn: Connection) -> None:
        stream = conn.transport_stream
        if not isinstance(stream, Stream):    # fail loudly, not subtly
            raise RuntimeError(f'npipes internal error: the Unix connection '
                               f'has no socket stream ({stream!r})')
        sock = stream.raw_socket
        self._conn = conn
        self._sock = sock
        sock.setblocking(False)
        self._fd = sock.fileno()
        self._crc, self._endian = conn.crc, conn.endian
        self._max_payload = conn.max_payload
        self._decoder = FrameDecoder(crc=conn.crc, endian=conn.endian,
                                     max_payload=conn.max_payload)
        self.frame_started: Optional[float] = None
        # One poll object per direction: the reader and the writer each
        # use only their own.
        self._readable = select.poll()
        self._readable.register(self._fd, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(self._fd, select.POLLOUT)

    @staticmethod
    def _wait(poller: 'select.poll', timeout: Optional[float]) -> bool:
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return bool(poller.poll(ms))

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """One payload.  PipeTimeoutError after *timeout* seconds (a partial
        frame is kept for the next call); ConnectionClosedError at a clean
        end, IncompleteFrameError if the peer left mid-frame."""
        deadline, decoder = Deadline(timeout), self._decoder
        while True:
            try:
                n = self._sock.recv_into(decoder.want())
            except (BlockingIOError, InterruptedError):
                if not self._wait(self._readable, deadline.remaining('receive')):
                    deadline.remaining('receive')      # raises at the deadline
                continue
            except ConnectionResetError:
                n = 0
            except OSError as exc:
                raise typed_os_error(exc) from exc
            if n == 0:
                if decoder.in_frame:
                    raise IncompleteFrameError(
                        'peer closed the pipe in the middle of a frame')
                raise ConnectionClosedError('peer closed the pipe')
            if self.frame_started is None:
                self.frame_started = time.monotonic()
            payload = decoder.advance(n)
            if payload is not None:
                self.frame_started = None
                return payload

    #: send_some() never blocks: a caller may write before the writer thread.
    direct = True

    def encode(self, payload: bytes) -> bytes:
        """The frame for *payload* (what send() and send_some() take)."""
        return encode_frame(payload, crc=self._crc, endian=self._endian,
                            max_payload=self._max_payload)

    def send_some(self, view: memoryview) -> memoryview:
        """Write what the kernel takes now; return the rest (a memoryview)."""
        try:
            n = self._sock.send(view, _MSG_NOSIGNAL)
        except (BlockingIOError, InterruptedError):
            return view
        except OSError as exc:
            raise typed_os_error(exc) from exc
        return view[n:]

    def send(self, data: Buffer) -> None:
        """Write all of *data*, waiting for room; only shutdown() (or the
        peer leaving) ends a wait."""
        view = memoryview(data)
        while view:
            rest = self.send_some(view)
            if len(rest) == len(view):
                self._wait(self._writable, None)
            view = rest

    def shutdown(self) -> None:
        """Wake a thread waiting in recv() or send(): both then fail."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self._conn.close()

