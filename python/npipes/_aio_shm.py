"""The asyncio Connection's shared-memory steps (docs/shared-memory.md §3,
§6): the blocking driver's (_shmconn.py) without blocking the loop while
the peer reads or the socket is full, and the methods that write and read
a message in place (AioInPlace, a base of npipes.aio.Connection)."""

from __future__ import annotations

import asyncio
import mmap
from typing import Awaitable, Callable, Optional, Union

from ._aio_channel import SocketChannel
from ._shmlink import Linked, ShmLink
from ._frames import check_size
from ._util import Deadline, delays
from .errors import FrameError, PipeTimeoutError, SharedMemoryError
from .sharedmemory import AsyncOutgoingMessage, ReceivedBuffer

__all__ = ['send', 'outgoing', 'AioInPlace']

Payload = Union[bytes, bytearray, memoryview]
#: Sends an inline payload within a timeout (the connection's own send).
InlineSend = Callable[[bytes, Optional[float]], Awaitable[None]]
_WAITING = 'send (waiting for the peer to read its shared-memory messages)'


async def _wait(link: ShmLink, size: int, deadline: Deadline) -> None:
    """Until *size* more bytes fit the in-flight budget (§3.4): the
    blocking driver's back-off, as loop sleeps."""
    if not link.must_wait(size):
        return
    for delay in delays():
        left = deadline.remaining(_WAITING)   # PipeTimeoutError at the end
        await asyncio.sleep(delay if left is None else min(delay, left))
        if not link.must_wait(size):
            return


async def _send_file(channel: SocketChannel, link: ShmLink, fd: int,
                     size: int, crc: int, deadline: Deadline) -> None:
    """Send *fd*'s descriptor frame (fd closed whatever happens)."""
    frame = link.frame(size, crc)
    sending = channel.send_first(lambda: link.port.offer_file(fd, frame),
                                 frame)
    try:
        left = deadline.remaining('send')
        await (sending if left is None else asyncio.wait_for(sending, left))
    except asyncio.TimeoutError:
        raise PipeTimeoutError(f'send timed out after {deadline.timeout} s') \
            from None
    finally:
        link.port.close_file(fd)
    link.budget.sent(size)


async def send(channel: SocketChannel, link: ShmLink, payload: Payload,
               timeout: Optional[float]) -> None:
    """Send *payload* through a sealed memfd."""
    deadline = Deadline(timeout)
    size = len(payload)
    await _wait(link, size, deadline)
    fd, crc = link.fill(payload)
    await _send_file(channel, link, fd, size, crc, deadline)


def outgoing(channel: Optional[SocketChannel], link: Optional[ShmLink],
             length: int, send_inline: InlineSend) -> AsyncOutgoingMessage:
    """A message of *length* bytes to write in place (§6; *channel* and
    *link* None: shared memory is off)."""
    if link is None or channel is None or not link.wanted(length):
        buf = bytearray(length)
        return AsyncOutgoingMessage(
            memoryview(buf), lambda timeout: send_inline(bytes(buf), timeout),
            lambda: None)
    shm, chan = link, channel               # (narrowed, for the closures)
    fd, mapping = shm.create(length)

    async def send_it(timeout: Optional[float]) -> None:
        deadline = Deadline(timeout)
        try:
            crc = shm.finish(fd, mapping)
            await _wait(shm, length, deadline)
        except BaseException:
            shm.port.close_file(fd)
            raise
        await _send_file(chan, shm, fd, length, crc, deadline)

    return AsyncOutgoingMessage(memoryview(mapping), send_it,
                                lambda: shm.abandon(fd, mapping))


class AioInPlace(Linked):
    """npipes.aio.Connection's methods of writing and reading a message in
    place; the Connection provides the rest (declared here)."""

    # (provided by the Connection)
    _socket_channel: Callable[[], SocketChannel]
    _encode: Callable[[Union[bytes, str]], bytes]
    send: Callable[[Union[bytes, str], Optional[float]], Awaitable[None]]
    _receive_frame: Callable[[Optional[float], bool], Awaitable[bytes]]

    async def _send_shared(self, payload: bytes,
                           timeout: Optional[float]) -> bool:
        """Send *payload* through shared memory if it is large enough;
        whether it was."""
        link = self._shm
        if link is None or not link.wanted(len(payload)):
            return False
        check_size(len(payload), self.max_payload)
        await send(self._socket_channel(), link, payload, timeout)
        return True

    def create_message(self, length: int) -> AsyncOutgoingMessage:
        """A message of *length* bytes to write in place and ``await
        send()`` (see :meth:`npipes.Connection.create_message`)."""
        check_size(length, self.max_payload)
        channel = None if self._shm is None else self._socket_channel()
        return outgoing(channel, self._shm, length, self.send)

    async def recv_buffer(self, timeout: Optional[float] = None
                          ) -> ReceivedBuffer:
        """One frame's payload to read in place (see
        :meth:`npipes.Connection.recv_buffer`)."""
        if self._shm is None:
            return ReceivedBuffer(await self._receive_frame(timeout, True))
        return ReceivedBuffer(await self._received(timeout, True))

    async def _received(self, timeout: Optional[float], idle: bool
                        ) -> Union[bytes, mmap.mmap]:
        """The next frame's payload, or its shared memory's mapping
        (SharedMemoryError closes the connection)."""
        link = self._shm
        assert link is not None
        try:
            return link.received(await self._receive_frame(timeout, idle),
                                 self.max_payload)
        except FrameError as exc:
            if isinstance(exc, SharedMemoryError):
                self.close()
            link.port.discard()          # the file of a refused frame
            raise
