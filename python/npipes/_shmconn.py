"""The blocking Connection's shared-memory steps (docs/shared-memory.md §3,
§5, §6, §8): send a payload through the ring or a memfd, wait for room
in the ring or at the in-flight budget, copy a received mapping out, and
the methods that write and read a message in place (InPlace, a base of
npipes.Connection)."""

from __future__ import annotations

import mmap
from typing import Callable, Optional, Union

from ._shmlink import Linked, ShmLink
from ._frames import check_size
from ._util import Deadline, backoff
from .errors import SharedMemoryError
from .sharedmemory import OutgoingMessage, ReceivedBuffer

__all__ = ['send', 'wait', 'copy_out', 'outgoing', 'InPlace']

Payload = Union[bytes, bytearray, memoryview]
#: Sends an inline payload within a timeout (the connection's own send).
InlineSend = Callable[[bytearray, Optional[float]], None]
_WAITING = 'send (waiting for the peer to read its shared-memory messages)'


def wait(link: ShmLink, size: int, deadline: Deadline) -> None:
    """Wait (1 ms doubling to 50 ms between looks) until *size* more bytes
    fit the in-flight budget (§3.4); PipeTimeoutError at *deadline*."""
    if link.must_wait(size):
        for _ in backoff(deadline, _WAITING):
            if not link.must_wait(size):
                return


def ring_slot(link: ShmLink, size: int, deadline: Deadline) -> int:
    """The position of a slot of *size* bytes in the ring, once the
    receiver has consumed enough for it (§8; PipeTimeoutError at
    *deadline*, the slot dropped)."""
    position = link.ring_place(size)
    try:
        if not link.ring_room(position, size):
            for _ in backoff(deadline, _WAITING):
                if link.ring_room(position, size):
                    break
    except BaseException:
        link.ring_unsent(False)
        raise
    return position


def send(link: ShmLink, payload: Payload, deadline: Deadline) -> bool:
    """Send *payload* through the ring, or a sealed memfd when it is
    larger than the ring (or the ring is in use by an unsent message);
    False when it must go inline instead (Windows, §9)."""
    size = len(payload)
    if link.ring_fits(size):
        position = ring_slot(link, size, deadline)
        try:
            crc = link.ring_write(position, payload)
        except BaseException:
            link.ring_unsent(False)
            raise
        link.ring_send(position, size, crc, deadline)
        return True
    if link.files is None:
        return False
    wait(link, size, deadline)
    fd, crc = link.fill(payload)
    link.send(fd, size, crc, deadline)
    return True


def copy_out(data: Union[bytes, mmap.mmap]) -> bytes:
    """A received payload as bytes: a mapping copied out and unmapped."""
    if isinstance(data, mmap.mmap):
        try:
            return data[:]
        finally:
            data.close()
    return data


def outgoing(link: Optional[ShmLink], length: int,
             send_inline: InlineSend, deadline: Deadline) -> OutgoingMessage:
    """A message of *length* bytes to write in place (§6): a ring slot
    (waiting for room until *deadline*), a memfd, or inline (also on
    Windows for what does not take the ring, §9)."""
    if link is None or not link.wanted(length) or \
            (link.files is None and not link.ring_fits(length)):
        buf = bytearray(length)
        return OutgoingMessage(memoryview(buf),
                               lambda timeout: send_inline(buf, timeout),
                               lambda: None)
    shm = link                              # (narrowed, for the closures)
    if shm.ring_fits(length):
        return _in_ring(shm, length, ring_slot(shm, length, deadline))
    fd, mapping = shm.create(length)

    def send_it(timeout: Optional[float]) -> None:
        deadline = Deadline(timeout)
        try:
            crc = shm.finish(fd, mapping)
            wait(shm, length, deadline)
        except BaseException:
            shm.file_port().close_file(fd)
            raise
        shm.send(fd, length, crc, deadline)

    return OutgoingMessage(memoryview(mapping), send_it,
                           lambda: shm.abandon(fd, mapping))


def _in_ring(link: ShmLink, length: int, position: int) -> OutgoingMessage:
    """The ring slot at *position*, to fill in place and send."""
    slot = link.ring_slot(position, length)

    def send_it(timeout: Optional[float]) -> None:
        crc = link.ring_finish(slot)
        link.ring_send(position, length, crc, Deadline(timeout))

    return OutgoingMessage(slot.view(), send_it, lambda: link.ring_drop(slot))


class InPlace(Linked):
    """npipes.Connection's methods of writing and reading a message in
    place; the Connection provides the rest (declared here)."""

    # (provided by the Connection)
    _deadline: Callable[[Optional[float]], Deadline]
    _recv_frame: Callable[[Deadline], bytes]
    _send: Callable[[Payload, Deadline], None]

    def _received(self, deadline: Deadline) -> Union[bytes, mmap.mmap]:
        """The next frame's payload, or the mapping of its shared memory
        (shared memory on; SharedMemoryError closes the connection)."""
        link = self._shm
        assert link is not None
        data: Union[bytes, mmap.mmap, None] = None
        with link.receiving(self.close):
            while data is None:          # (past a kind-3 frame: no message)
                data = link.received(self._recv_frame(deadline), self.max_payload)
        return data

    def recv_buffer(self, timeout: Optional[float] = None) -> ReceivedBuffer:
        """Receive one frame's payload to read in place: a payload that came
        through shared memory is the sealed file's read-only mapping, not a
        copy (release the ReceivedBuffer, or use it in a ``with`` block, to
        unmap it); an inline payload is its bytes.  Errors as ``recv``.
        """
        deadline = self._deadline(timeout)
        link = self._shm
        if link is None:
            return ReceivedBuffer(self._recv_frame(deadline))
        data = self._received(deadline)
        return ReceivedBuffer(data, link.from_shared)

    def create_message(self, length: int,
                       timeout: Optional[float] = None) -> OutgoingMessage:
        """A message of *length* bytes to write in place and send
        (docs/shared-memory.md §6): at or above the shared-memory threshold
        its ``buffer`` is a slot of the connection's ring (§8; waiting up
        to *timeout* seconds for the peer to read enough to make room, else
        PipeTimeoutError), or for a payload larger than the ring (or while
        another message holds the ring) a memfd's mapping, sealed and
        handed over as it is by ``send()`` (on Windows: ordinary memory
        sent inline, §9); below the threshold ordinary memory sent
        inline.  Not sending it (leaving its ``with`` block,
        ``abandon()``) sends nothing."""
        check_size(length, self.max_payload)
        try:
            return outgoing(self._shm, length,
                            lambda data, timeout: self._send(
                                data, self._deadline(timeout)),
                            self._deadline(timeout))
        except SharedMemoryError:
            self.close()
            raise
