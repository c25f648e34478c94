"""Sending a payload in a sealed file of its own (docs/shared-memory.md §3,
where files travel; a base of _shmlink.ShmLink): the memfd, its CRC, its
descriptor frame and the in-flight budget (§3.4).  The operating system
is the file port's business, the waiting the driver's."""

from __future__ import annotations

import mmap
import zlib
from typing import Optional, Tuple, Union

from ._shmframe import Budget, DescriptorCodec
from ._util import Deadline, FilePort
from .errors import NPipesError, SharedMemoryError

__all__ = ['FileSending']


class FileSending:
    """The file-of-its-own steps of a connection's shared memory."""

    # (set by ShmLink)
    #: The stream's files; None where none travel (§9).
    files: Optional[FilePort]
    crc: bool
    budget: Budget
    _codec: DescriptorCodec

    def file_port(self) -> FilePort:
        """The stream's files; SharedMemoryError where none travel (there
        a payload the ring cannot take goes inline: never asked)."""
        files = self.files
        if files is None:
            raise SharedMemoryError('shared memory: this stream carries no '
                                    'files, only the ring '
                                    '(docs/shared-memory.md §9)')
        return files

    def must_wait(self, size: int) -> bool:
        """Whether sending *size* more bytes must wait for the peer to read
        (§3.4); looks at the send queue only when the budget is spent."""
        budget = self.budget
        if budget.fits(size):
            return False
        if self.file_port().queue_empty():
            budget.emptied()
            return False
        return True

    def create(self, size: int) -> Tuple[int, mmap.mmap]:
        """A memfd of *size* bytes and its writable mapping."""
        return self.file_port().create(size)

    def fill(self, payload: Union[bytes, bytearray, memoryview]
             ) -> Tuple[int, int]:
        """A memfd holding *payload*: ``(fd, crc)`` (crc 0 when off)."""
        crc = zlib.crc32(payload) & 0xFFFFFFFF if self.crc else 0
        return self.file_port().write_file(payload), crc

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
        """Drop an unsent in-place message: its file, and its mapping now,
        or with the last view of it the caller still holds (as a ring's)."""
        try:
            mapping.close()
        except BufferError:
            pass                            # (unmapped when it is freed)
        finally:
            self.file_port().close_file(fd)

    def finish(self, fd: int, mapping: mmap.mmap) -> int:
        """Close the caller-written *mapping* of *fd*; its CRC (or 0)."""
        return self._closed(mapping, mapping)

    def frame(self, size: int, crc: int) -> bytes:
        """The descriptor frame of a payload of *size* bytes, CRC *crc*."""
        return self._codec.frame(size, crc, self.crc)

    def send(self, fd: int, size: int, crc: int, deadline: Deadline) -> None:
        """Send the descriptor frame of *fd* (sealed here; closed
        whatever happens) and count it (the blocking driver's)."""
        self.file_port().send_file(fd, self.frame(size, crc), deadline)
        self.budget.sent(size)
