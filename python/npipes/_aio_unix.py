"""The Unix endpoint under asyncio: a connected socket handed to the loop,
and accept() in the event loop with the Server's own peer check (same user,
or ``allow_other_users``) on every accepted socket before a byte is read."""

from __future__ import annotations

import asyncio
import collections
from typing import Deque, Optional

from ._aio_channel import Channel, SocketChannel
from ._unix import Server
from ._unixsock import Stream
from ._util import typed_os_error
from .errors import NPipesError, PipeTimeoutError

__all__ = ['open_stream', 'acceptor']


async def open_stream(stream: Stream, address: str) -> Channel:
    """A channel over *stream*'s socket, driven directly (it belongs to
    the channel afterwards)."""
    sock = stream.capabilities().socket
    assert sock is not None          # a Unix Stream always has its socket
    try:
        return SocketChannel(sock)
    except BaseException:
        sock.close()
        raise


def acceptor(server: Server) -> 'UnixAcceptor':
    """The accept side of *server* for the running loop."""
    return UnixAcceptor(server)


class UnixAcceptor:
    """accept() in the event loop: readable listening socket -> accept
    -> the Server's peer check (a refused peer is closed unread, and
    counted through ``on_refused``) -> the waiting coroutine."""

    def __init__(self, server: Server) -> None:
        sock = server.listening_socket      # non-blocking
        if sock is None:
            raise NPipesError('server is closed')
        self._server = server
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._waiters: Deque[asyncio.Future[Stream]] = collections.deque()
        self._armed = False

    async def accept(self, timeout: Optional[float]) -> Stream:
        if self._server.closed:
            raise NPipesError('server is closed')
        fut: asyncio.Future[Stream] = self._loop.create_future()
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
            stream = self._server.admit(conn)
            if stream is None:
                conn.close()               # not a byte read or written
                continue
            self._waiters.popleft().set_result(stream)
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



