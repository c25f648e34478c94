"""The asyncio Connection's shared-memory steps (docs/shared-memory.md §3,
§6, §8): the blocking driver's (_shmconn.py) without blocking the loop
while the peer reads or the socket is full, and the methods that write and
read a message in place (AioInPlace, a base of npipes.aio.Connection).
Files travel on Linux only (a SocketChannel); on Windows (§9) the ring's
frames are ordinary writes of the proactor's channel."""

from __future__ import annotations

import asyncio
import mmap
from typing import Any, Awaitable, Callable, Optional, Union

from ._aio_channel import Channel, SocketChannel
from ._shmlink import Linked, ShmLink
from ._frames import check_size
from ._util import Deadline, delays
from .errors import PipeTimeoutError, SharedMemoryError
from .sharedmemory import AsyncOutgoingMessage, ReceivedBuffer

__all__ = ['send', 'outgoing', 'AioInPlace']

Payload = Union[bytes, bytearray, memoryview]
#: Sends an inline payload within a timeout (the connection's own send).
InlineSend = Callable[[bytes, Optional[float]], Awaitable[None]]
_WAITING = 'send (waiting for the peer to read its shared-memory messages)'


async def _until(ready: Callable[[], bool], deadline: Deadline) -> None:
    """Until *ready()*: the blocking driver's back-off, as loop sleeps."""
    for delay in delays():
        left = deadline.remaining(_WAITING)   # PipeTimeoutError at the end
        await asyncio.sleep(delay if left is None else min(delay, left))
        if ready():
            return


async def _wait(link: ShmLink, size: int, deadline: Deadline) -> None:
    """Until *size* more bytes fit the in-flight budget (§3.4)."""
    if link.must_wait(size):
        await _until(lambda: not link.must_wait(size), deadline)


async def _within(sending: Awaitable[Any], deadline: Deadline) -> None:
    """Await *sending* until *deadline* (PipeTimeoutError)."""
    try:
        left = deadline.remaining('send')
        await (sending if left is None else asyncio.wait_for(sending, left))
    except asyncio.TimeoutError:
        raise PipeTimeoutError(f'send timed out after {deadline.timeout} s') \
            from None


async def _send_file(channel: Channel, link: ShmLink, fd: int,
                     size: int, crc: int, deadline: Deadline) -> None:
    """Send *fd*'s descriptor frame (fd closed whatever happens)."""
    frame = link.frame(size, crc)
    files = link.file_port()
    try:
        assert isinstance(channel, SocketChannel)     # files: Linux only
        await _within(channel.send_first(
            lambda: files.offer_file(fd, frame), frame), deadline)
    finally:
        files.close_file(fd)
    link.budget.sent(size)


async def _ring_slot(link: ShmLink, size: int, deadline: Deadline) -> int:
    """The position of a ring slot of *size* bytes once there is room
    (§8; PipeTimeoutError at *deadline*, the slot dropped)."""
    position = link.ring_place(size)
    try:
        if not link.ring_room(position, size):
            await _until(lambda: link.ring_room(position, size), deadline)
    except BaseException:
        link.ring_unsent(False)
        raise
    return position


async def _ring_send(channel: Channel, link: ShmLink, position: int,
                     size: int, crc: int, deadline: Deadline) -> None:
    """Send the slot's descriptor frame (on Windows after the ring's
    kind-3 frame when it is the first, each a write of its own).  The slot
    counts as sent once the frame is queued (whatever the caller's
    timeout, it then goes)."""
    frame, fd, attach = link.ring_frame(position, size, crc)
    if fd is None:
        if attach is not None:
            channel.write(attach)
        channel.write(frame)
        link.ring_sent(position, size)
        await _within(channel.drain(), deadline)
        return
    ring_fd = fd                            # (narrowed, for the closure)
    files = link.file_port()
    assert isinstance(channel, SocketChannel)       # files: Linux only

    def offer() -> int:
        sent = files.offer_file(ring_fd, frame)
        link.ring_sent(position, size)      # the rest is queued at once
        return sent
    try:
        await _within(channel.send_first(offer, frame), deadline)
    finally:
        files.close_file(fd)
        if link.ring_out is not None and link.ring_out.busy:
            link.ring_unsent(True)          # (the ring's file did not go)


async def send(channel: Channel, link: ShmLink, payload: Payload,
               timeout: Optional[float]) -> bool:
    """Send *payload* through the ring, or a sealed memfd when it is
    larger than the ring (or the ring holds an unsent message); False
    when it must go inline instead (Windows, §9)."""
    deadline = Deadline(timeout)
    size = len(payload)
    if link.ring_fits(size):
        position = await _ring_slot(link, size, deadline)
        try:
            crc = link.ring_write(position, payload)
        except BaseException:
            link.ring_unsent(False)
            raise
        await _ring_send(channel, link, position, size, crc, deadline)
        return True
    if link.files is None:
        return False
    await _wait(link, size, deadline)
    fd, crc = link.fill(payload)
    await _send_file(channel, link, fd, size, crc, deadline)
    return True


def outgoing(channel: Optional[Channel], link: Optional[ShmLink],
             length: int, send_inline: InlineSend) -> AsyncOutgoingMessage:
    """A message of *length* bytes to write in place (§6; *channel* and
    *link* None: shared memory is off; inline also on Windows when the
    ring has no room now, §9)."""
    if link is None or channel is None or not link.wanted(length) or \
            (link.files is None and not link.ring_fits(length)):
        buf = bytearray(length)
        return AsyncOutgoingMessage(
            memoryview(buf), lambda timeout: send_inline(bytes(buf), timeout),
            lambda: None)
    shm, chan = link, channel               # (narrowed, for the closures)
    if shm.ring_fits(length):
        position = shm.ring_place(length)
        if shm.ring_room(position, length):
            return _in_ring(chan, shm, length, position)
        shm.ring_unsent(False)          # no room now: a file of its own
        if shm.files is None:           # (Windows: inline)
            return outgoing(None, None, length, send_inline)
    fd, mapping = shm.create(length)

    async def send_it(timeout: Optional[float]) -> None:
        deadline = Deadline(timeout)
        try:
            crc = shm.finish(fd, mapping)
            await _wait(shm, length, deadline)
        except BaseException:
            shm.file_port().close_file(fd)
            raise
        await _send_file(chan, shm, fd, length, crc, deadline)

    return AsyncOutgoingMessage(memoryview(mapping), send_it,
                                lambda: shm.abandon(fd, mapping))


def _in_ring(channel: Channel, link: ShmLink, length: int,
             position: int) -> AsyncOutgoingMessage:
    """The ring slot at *position*, to fill in place and send."""
    slot = link.ring_slot(position, length)

    async def send_it(timeout: Optional[float]) -> None:
        crc = link.ring_finish(slot)
        await _ring_send(channel, link, position, length, crc,
                         Deadline(timeout))

    return AsyncOutgoingMessage(slot.view(), send_it,
                                lambda: link.ring_drop(slot))


class AioInPlace(Linked):
    """npipes.aio.Connection's methods of writing and reading a message in
    place; the Connection provides the rest (declared here)."""

    # (provided by the Connection)
    _live: Callable[[], Channel]
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
        try:
            return await send(self._live(), link, payload, timeout)
        except SharedMemoryError:
            self.close()               # (the peer broke the ring's rules)
            raise

    def create_message(self, length: int) -> AsyncOutgoingMessage:
        """A message of *length* bytes to write in place and ``await
        send()`` (see :meth:`npipes.Connection.create_message`; a ring
        slot only when the ring has room now, else a memfd of its own, on
        Windows ordinary memory sent inline: this call never waits)."""
        check_size(length, self.max_payload)
        channel = None if self._shm is None else self._live()
        try:
            return outgoing(channel, self._shm, length, self.send)
        except SharedMemoryError:
            self.close()
            raise

    async def recv_buffer(self, timeout: Optional[float] = None
                          ) -> ReceivedBuffer:
        """One frame's payload to read in place (see
        :meth:`npipes.Connection.recv_buffer`)."""
        link = self._shm
        if link is None:
            return ReceivedBuffer(await self._receive_frame(timeout, True))
        data = await self._received(timeout, True)
        return ReceivedBuffer(data, link.from_shared)

    async def _received(self, timeout: Optional[float], idle: bool
                        ) -> Union[bytes, mmap.mmap]:
        """The next frame's payload, or its shared memory's mapping
        (SharedMemoryError closes the connection)."""
        link = self._shm
        assert link is not None
        data: Union[bytes, mmap.mmap, None] = None
        with link.receiving(self.close):
            while data is None:          # (past a kind-3 frame: no message)
                data = link.received(await self._receive_frame(timeout, idle), self.max_payload)
        return data
