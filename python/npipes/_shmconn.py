"""The blocking Connection's shared-memory steps (docs/shared-memory.md §3,
§5, §6): send a payload through a memfd, wait at the in-flight budget,
copy a received mapping out, and the in-place OutgoingMessage."""

from __future__ import annotations

import mmap
from typing import Callable, Optional, Union

from ._shmlink import ShmLink
from ._util import Deadline, backoff
from .sharedmemory import OutgoingMessage

__all__ = ['send', 'wait', 'copy_out', 'outgoing']

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
