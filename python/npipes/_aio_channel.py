"""The byte channel under an asyncio Connection: read into a buffer, write
whole frames, half-close, close.

On Unix it is the raw non-blocking socket (SocketChannel): a read first
tries ``recv_into`` at once, then a bounded number of zero-timeout loop
turns (``asyncio.sleep(0)``), and only then parks on readiness.  A
request's reply from another process usually arrives within those turns,
so a sequential request costs no epoll registration and no StreamReader
copy (asyncio streams made the client 0.3-0.4x the threaded one).  The
spin is bounded like .NET's: a slow peer costs SPIN loop turns per
receive, then the task sleeps.  For the park the loop keeps watching the
socket from the first park on (one ``add_reader``, not one per wait: each
is an ``epoll_ctl``), and stops only when bytes arrive while no read
waits (the selector is level-triggered).  On Windows the proactor's
streams are kept (_aio_windows.PipeChannel).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Callable, List, Optional, Protocol

from ._decoder import FrameDecoder

__all__ = ['Channel', 'SocketChannel', 'SPIN']

#: Loop turns a receive yields for, after an empty non-blocking recv,
#: before it parks on readiness.
SPIN = 16
_NOSIGNAL = getattr(socket, 'MSG_NOSIGNAL', 0)
_AGAIN = (BlockingIOError, InterruptedError)


class Channel(Protocol):
    """What a Connection needs of its pipe (OSError subclasses as the
    socket's: ConnectionResetError, BrokenPipeError)."""

    async def read_into(self, view: memoryview) -> int:
        """Read at most len(view) bytes; 0 at the end of stream (or once
        this side closed)."""

    def write(self, data: bytes) -> bool:
        """Queue *data* whole (sent in order, never interleaved); True when
        it was all handed to the OS at once (nothing to drain)."""

    async def drain(self) -> None:
        """Wait until everything queued is handed to the OS."""

    def write_eof(self) -> bool:
        """Half-close after what is queued; False if the pipe cannot."""

    def is_closing(self) -> bool:
        """Closed, or a write failed."""

    def close(self) -> None:
        """Close at once; a pending read returns 0."""

    async def wait_closed(self) -> None:
        """Wait until the pipe is let go of."""


class SocketChannel:
    """A connected non-blocking Unix socket driven directly (see module)."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self._loop = asyncio.get_running_loop()
        self._out = bytearray()          # queued, not yet sent
        self._drained: List[asyncio.Future[None]] = []
        self._reading: Optional[asyncio.Future[None]] = None
        self._watching = False           # the loop watches for bytes
        self._error: Optional[OSError] = None
        self._eof_pending = False
        self._closed = False
        self._recv_into: Callable[[memoryview], int] = sock.recv_into

    def use_reader(self, recv_into: Callable[[memoryview], int]) -> None:
        """Read with *recv_into* (non-blocking: BlockingIOError when
        nothing is there) instead of the socket's own: shared memory's
        recvmsg, which keeps the files that arrive."""
        self._recv_into = recv_into

    # -- reading ---------------------------------------------------------
    async def receive(self, decoder: FrameDecoder) -> Optional[bytes]:
        """The next payload through *decoder* (read-ahead), read on the
        spot while the bytes are there (a ping-pong's reply: no park);
        None at the end of stream or once this side closed."""
        recv_into = self._recv_into
        turns = 0
        while not self._closed:
            try:
                return decoder.receive(recv_into)
            except _AGAIN:
                turns = await self._wait(turns)
        return None

    async def read_into(self, view: memoryview) -> int:
        turns = 0
        while not self._closed:
            try:
                return self._recv_into(view)
            except _AGAIN:
                turns = await self._wait(turns)
        return 0

    async def _wait(self, turns: int) -> int:
        """Wait once for bytes: a zero-timeout loop turn while fewer than
        SPIN were taken, else a park on readiness; the turns taken now."""
        if turns < SPIN:
            await asyncio.sleep(0)
            return turns + 1
        fut = self._loop.create_future()
        self._reading = fut
        if not self._watching:
            self._loop.add_reader(self._fd, self._readable)
            self._watching = True
        try:
            await fut
        finally:
            self._reading = None
        return turns

    def _readable(self) -> None:
        fut = self._reading
        if fut is None:
            # Bytes came with no receive waiting: stop watching (the
            # selector is level-triggered) until one waits again.
            self._unwatch()
        elif not fut.done():
            fut.set_result(None)

    def _unwatch(self) -> None:
        if self._watching:
            self._watching = False
            self._loop.remove_reader(self._fd)

    # -- writing ---------------------------------------------------------
    def write(self, data: bytes) -> bool:
        if self._error is not None or self._closed:
            return False                 # drain() reports it
        if self._out:
            self._out += data
            return False
        try:
            sent = self._sock.send(data, _NOSIGNAL)
        except _AGAIN:
            sent = 0
        except OSError as exc:
            self._error = exc
            return False
        if sent < len(data):
            self._out += memoryview(data)[sent:]
            self._loop.add_writer(self._fd, self._writable)
            return False
        return True

    async def send_first(self, offer: Callable[[], int], data: bytes) -> None:
        """Send *data*, whose first bytes must go out in one call of
        *offer* (a sendmsg carrying a file, non-blocking: the count sent),
        after everything queued before it; what *offer* did not send is
        queued at once, so a frame is never split by another."""
        while True:
            while self._out and self._error is None and not self._closed:
                await self.drain()
            if self._error is not None:
                raise self._error
            if self._closed:
                raise ConnectionResetError('the connection was closed')
            try:
                sent = offer()
                break
            except _AGAIN:
                await self._room()
        if sent < len(data):
            self.write(data[sent:])
            await self.drain()

    async def _room(self) -> None:
        """Wait until the socket takes bytes again (nothing queued).  The
        future is also a drain waiter: a write() meanwhile that registers
        :meth:`_writable` instead of this callback still wakes it."""
        fut: asyncio.Future[None] = self._loop.create_future()
        self._drained.append(fut)

        def writable() -> None:
            if not fut.done():
                fut.set_result(None)
        self._loop.add_writer(self._fd, writable)
        try:
            await fut
        finally:
            if fut in self._drained:
                self._drained.remove(fut)
            if not self._closed and not self._out:
                self._loop.remove_writer(self._fd)

    def _writable(self) -> None:
        try:
            sent = self._sock.send(self._out, _NOSIGNAL)
        except _AGAIN:
            return
        except OSError as exc:
            self._error = exc
            sent = len(self._out)
        del self._out[:sent]
        if not self._out:
            self._loop.remove_writer(self._fd)
            if self._eof_pending:
                self._shutdown()
            for fut in self._drained:
                if not fut.done():
                    fut.set_result(None)
            self._drained.clear()

    async def drain(self) -> None:
        if self._out and self._error is None and not self._closed:
            fut = self._loop.create_future()
            self._drained.append(fut)
            await asyncio.shield(fut)    # a timeout leaves the frame queued
        if self._error is not None:
            raise self._error

    def write_eof(self) -> bool:
        if self._out:
            self._eof_pending = True
        else:
            self._shutdown()
        return True

    def _shutdown(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass                         # the peer is gone: a read says so

    # -- lifetime --------------------------------------------------------
    def is_closing(self) -> bool:
        return self._closed or self._error is not None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._unwatch()
        if self._reading is not None and not self._reading.done():
            self._reading.set_result(None)
        if self._out:
            self._loop.remove_writer(self._fd)
            self._out.clear()
        for fut in self._drained:
            if not fut.done():
                fut.set_result(None)
        self._sock.close()

    async def wait_closed(self) -> None:
        return None
