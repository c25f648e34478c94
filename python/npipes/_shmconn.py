"""The blocking Connection's shared-memory steps (docs/shared-memory.md §3,
§5, §6): send a payload through a memfd, wait at the in-flight budget,
copy a received mapping out, and the methods that write and read a
message in place (InPlace, a base of npipes.Connection)."""

from __future__ import annotations

import mmap
from typing import Callable, Optional, Union

from ._shmlink import Linked, ShmLink
from ._frames import check_size
from ._util import Deadline, backoff
from .errors import FrameError, SharedMemoryError
from .sharedmemory import OutgoingMessage, ReceivedBuffer

__all__ = ['send', 'wait', 'copy_out', 'outgoing', 'InPlace']

Payload = Union[bytes, bytearray, memoryview]
#: Sends an inline payload within a timeout (the connection's own send).
InlineSend = Callable[[bytearray, Optional[float]], None]


def wait(link: ShmLink, size: int, deadline: Deadline) -> None:
    """Wait (1 ms doubling to 50 ms between looks) until *size* more bytes
    fit the in-flight budget (§3.4); PipeTimeoutError at *deadline*."""
    if link.must_wait(size):
        for _ in backoff(deadline, 'send (waiting for the peer to read '
                                   'its shared-memory messages)'):
            if not link.must_wait(size):
                return


def send(link: ShmLink, payload: Payload, deadline: Deadline) -> None:
    """Send *payload* through a sealed memfd."""
    size = len(payload)
    wait(link, size, deadline)
    fd, crc = link.fill(payload)
    link.send(fd, size, crc, deadline)


def copy_out(data: Union[bytes, mmap.mmap]) -> bytes:
    """A received payload as bytes: a mapping copied out and unmapped."""
    if isinstance(data, mmap.mmap):
        try:
            return data[:]
        finally:
            data.close()
    return data


def outgoing(link: Optional[ShmLink], length: int,
             send_inline: InlineSend) -> OutgoingMessage:
    """A message of *length* bytes to write in place (§6)."""
    if link is None or not link.wanted(length):
        buf = bytearray(length)
        return OutgoingMessage(memoryview(buf),
                               lambda timeout: send_inline(buf, timeout),
                               lambda: None)
    shm = link                              # (narrowed, for the closures)
    fd, mapping = shm.create(length)

    def send_it(timeout: Optional[float]) -> None:
        deadline = Deadline(timeout)
        try:
            crc = shm.finish(fd, mapping)
            wait(shm, length, deadline)
        except BaseException:
            shm.port.close_file(fd)
            raise
        shm.send(fd, length, crc, deadline)

    return OutgoingMessage(memoryview(mapping), send_it,
                           lambda: shm.abandon(fd, mapping))


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
        try:
            return link.received(self._recv_frame(deadline), self.max_payload)
        except FrameError as exc:
            if isinstance(exc, SharedMemoryError):
                self.close()
            link.port.discard()          # the file of a refused frame
            raise

    def recv_buffer(self, timeout: Optional[float] = None) -> ReceivedBuffer:
        """Receive one frame's payload to read in place: a payload that came
        through shared memory is the sealed file's read-only mapping, not a
        copy (release the ReceivedBuffer, or use it in a ``with`` block, to
        unmap it); an inline payload is its bytes.  Errors as ``recv``.
        """
        deadline = self._deadline(timeout)
        if self._shm is None:
            return ReceivedBuffer(self._recv_frame(deadline))
        return ReceivedBuffer(self._received(deadline))

    def create_message(self, length: int) -> OutgoingMessage:
        """A message of *length* bytes to write in place and send
        (docs/shared-memory.md §6): at or above the shared-memory threshold
        its ``buffer`` is a memfd's mapping, sealed and handed over as it is
        by ``send()``; otherwise ordinary memory sent inline.  Not sending
        it (leaving its ``with`` block, ``abandon()``) sends nothing."""
        check_size(length, self.max_payload)
        return outgoing(self._shm, length, lambda data, timeout: self._send(
            data, self._deadline(timeout)))
