"""One connection's shared memory (docs/shared-memory.md), for both
drivers: what to do with a received descriptor frame, how a large payload
is put in a file, and the in-flight budget.  The operating system is the
port's business (the transport's ``capabilities().shared_memory``); the
waiting is the driver's (blocking or asyncio).
"""

from __future__ import annotations

import mmap
import zlib
from typing import Callable, Optional, Tuple, Union

from . import _platform
from ._frames import check_size
from ._shmframe import Budget, Descriptor, DescriptorCodec
from ._util import Capabilities, Deadline, SharedMemoryPort
from .errors import NPipesError, SharedMemoryError
from .sharedmemory import SharedMemory

__all__ = ['ShmLink', 'open_link', 'Linked']


def open_link(caps: Capabilities, option: Optional[SharedMemory], crc: bool,
              endian: str) -> Optional[ShmLink]:
    """The link of a connection whose stream has *caps*, or None when
    *option* is off; SharedMemoryError naming the platform when the stream
    cannot (§7)."""
    if option is None:
        return None
    if caps.shared_memory is None:
        raise SharedMemoryError(
            f'shared memory (docs/shared-memory.md) is not available on '
            f'{_platform.NAME} with this transport: leave shared_memory off '
            f'here')
    return ShmLink(caps.shared_memory(), option, crc, endian)


class ShmLink:
    """A connection's shared-memory state: its port, option, budget and
    descriptor frames."""

    def __init__(self, port: SharedMemoryPort, option: SharedMemory,
                 crc: bool, endian: str) -> None:
        self.port = port
        self.option = option
        self.crc = crc
        self.budget = Budget(option.max_in_flight)
        self._codec = DescriptorCodec(endian)

    @property
    def endian(self) -> str:
        """The byte order of the descriptor frames sent."""
        return self._codec.endian

    @endian.setter
    def endian(self, endian: str) -> None:
        self._codec = DescriptorCodec(endian)

    # -- receiving (§4) ----------------------------------------------------
    def received(self, payload: bytes, max_payload: Optional[int]
                 ) -> Union[bytes, mmap.mmap]:
        """What a completed frame holds: *payload* itself for an ordinary
        frame (no file may have come with it), else the checked read-only
        mapping of the descriptor frame's file."""
        port = self.port
        if type(payload) is not Descriptor:
            port.no_file()
            return payload
        fd = port.take_file()
        try:
            check_size(payload.length, max_payload)
        except NPipesError as exc:
            port.close_file(fd)
            raise SharedMemoryError(f'shared memory: {exc}') from None
        mapping = port.map_file(fd, payload.length)
        if self.crc:
            computed = zlib.crc32(mapping) & 0xFFFFFFFF
            if computed != payload.crc:
                mapping.close()
                raise SharedMemoryError(
                    f'shared memory: CRC-32 mismatch: the descriptor says '
                    f'0x{payload.crc:08x}, the payload has 0x{computed:08x}')
        return mapping

    # -- sending (§3) --------------------------------------------------------
    def wanted(self, size: int) -> bool:
        """Whether a payload of *size* bytes goes through shared memory."""
        return size >= self.option.min_payload and size > 0

    def must_wait(self, size: int) -> bool:
        """Whether sending *size* more bytes must wait for the peer to read
        (§3.4); looks at the send queue only when the budget is spent."""
        budget = self.budget
        if budget.fits(size):
            return False
        if self.port.queue_empty():
            budget.emptied()
            return False
        return True

    def create(self, size: int) -> Tuple[int, mmap.mmap]:
        """A memfd of *size* bytes and its writable mapping."""
        return self.port.create(size)

    def fill(self, payload: Union[bytes, bytearray, memoryview]
             ) -> Tuple[int, int]:
        """A memfd holding *payload*: ``(fd, crc)`` (crc 0 when off)."""
        crc = zlib.crc32(payload) & 0xFFFFFFFF if self.crc else 0
        return self.port.write_file(payload), crc

    def _closed(self, mapping: mmap.mmap,
                data: Union[bytes, bytearray, memoryview, mmap.mmap]) -> int:
        """Close *mapping* (the seals need it gone); the CRC of *data*
        computed first when CRC is on, else 0."""
        crc = zlib.crc32(data) & 0xFFFFFFFF if self.crc else 0
        try:
            mapping.close()
        except BufferError:
            raise NPipesError('a view of OutgoingMessage.buffer is still in '
                              'use: release it before send()') from None
        return crc

    def abandon(self, fd: int, mapping: mmap.mmap) -> None:
        """Drop an unsent in-place message: its mapping, then its file."""
        try:
            mapping.close()
        finally:
            self.port.close_file(fd)

    def finish(self, fd: int, mapping: mmap.mmap) -> int:
        """Close the caller-written *mapping* of *fd*; its CRC (or 0)."""
        return self._closed(mapping, mapping)

    def frame(self, size: int, crc: int) -> bytes:
        """The descriptor frame of a payload of *size* bytes, CRC *crc*."""
        return self._codec.frame(size, crc, self.crc)

    def send(self, fd: int, size: int, crc: int, deadline: Deadline) -> None:
        """Send the descriptor frame of *fd* (sealed here; closed
        whatever happens) and count it (the blocking driver's)."""
        self.port.send_file(fd, self.frame(size, crc), deadline)
        self.budget.sent(size)


class Linked:
    """What the in-place methods of both Connections (_shmconn.InPlace,
    _aio_shm.AioInPlace) read of their Connection."""

    #: The connection's shared memory (None: off).
    _shm: Optional[ShmLink] = None
    max_payload: Optional[int]
    close: Callable[[], None]
