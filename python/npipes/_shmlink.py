"""One connection's shared memory (docs/shared-memory.md), for both
drivers: what to do with a received descriptor frame, how a large payload
is put in a file or the ring (§8), and the in-flight budget.  Where no
file travels (the ring port has no file port: Windows, §9) the ring is a
section announced by a kind-3 frame of its own, and what does not take
the ring goes inline.  The operating system is the ports' business (the
transport's ``capabilities().shared_memory``, _util.RingPort); the waiting
is the driver's (blocking or asyncio).
"""

from __future__ import annotations

import mmap
import zlib
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Tuple, Union

from . import _platform
from ._frames import check_size
from ._shmfile import FileSending
from ._shmframe import (KIND_RING, KIND_SECTION, RING_FILE, Budget,
                        Descriptor, DescriptorCodec, check_carried)
from ._shmring import (PAGE, RingReader, RingWriter, Slot, capacity_for,
                       closed_error)
from ._util import Capabilities, Deadline, RingPort
from .errors import FrameError, NPipesError, SharedMemoryError
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


class ShmLink(FileSending):
    """A connection's shared-memory state: its ports, option, budget and
    descriptor frames; sending in files of their own is FileSending's."""

    def __init__(self, port: RingPort, option: SharedMemory,
                 crc: bool, endian: str) -> None:
        self.port = port
        self.files = port.files
        self.option = option
        self.crc = crc
        self.budget = Budget(option.max_in_flight)
        self._codec = DescriptorCodec(endian)
        #: The data region of the ring this side sends through (§8).
        self.capacity = capacity_for(option.max_in_flight)
        self.ring_out: Optional[RingWriter] = None
        self.ring_in: Optional[RingReader] = None
        #: Windows: the kind-3 frame announcing the ring, until it is sent.
        self._attach: Optional[bytes] = None
        #: Whether the last payload received came through shared memory.
        self.from_shared = False
        #: The connection closed (maybe by another thread while a send or
        #: receive runs: that one then fails as on a closed connection,
        #: and no ring is made or taken after close, to be left open).
        self.closed = False

    @property
    def endian(self) -> str:
        """The byte order of the descriptor frames sent."""
        return self._codec.endian

    @endian.setter
    def endian(self, endian: str) -> None:
        self._codec = DescriptorCodec(endian)

    # -- receiving (§4) ----------------------------------------------------
    def received(self, payload: bytes, max_payload: Optional[int]
                 ) -> Union[bytes, mmap.mmap, None]:
        """What a completed frame holds: *payload* itself for an ordinary
        frame (no file may have come with it), else the checked read-only
        mapping of the descriptor frame's file, or a copy of its ring slot;
        None for a kind-3 frame (the ring attached: read on)."""
        files = self.files
        if type(payload) is not Descriptor:
            if files is not None:
                files.no_file()
            self.from_shared = False
            return payload
        self.from_shared = True
        check_carried(payload, files is not None)
        kind = payload.kind
        if kind == KIND_SECTION:
            self._take_ring(payload, ' (kind 3)')
            return None
        if kind == KIND_RING:
            return self._from_ring(payload, max_payload)
        files = self.file_port()
        fd = files.take_file()
        try:
            check_size(payload.length, max_payload)
        except NPipesError as exc:
            files.close_file(fd)
            raise SharedMemoryError(f'shared memory: {exc}') from None
        mapping = files.map_file(fd, payload.length)
        if self.crc:
            computed = zlib.crc32(mapping) & 0xFFFFFFFF
            if computed != payload.crc:
                mapping.close()
                raise SharedMemoryError(
                    f'shared memory: CRC-32 mismatch: the descriptor says '
                    f'0x{payload.crc:08x}, the payload has 0x{computed:08x}')
        return mapping

    def _take_ring(self, found: Descriptor, which: str) -> None:
        """Take the peer's ring that *found* brings (its file, §8) or
        names (its section, §9): the port checks and maps it."""
        if self.ring_in is not None:
            raise SharedMemoryError(f'shared memory: a second ring on the '
                                    f'same connection{which}')
        self.ring_in = ring = RingReader(*self.port.take_ring(found))
        self._unless_closed(ring, 'ring_in')

    def _from_ring(self, found: Descriptor, max_payload: Optional[int]
                   ) -> bytes:
        """A copy of the ring slot *found* describes (§8), the ring
        attached first when its file came with the frame."""
        if found.flags & RING_FILE:
            self._take_ring(found, '')
        elif self.files is not None:
            self.files.no_file()
        ring = self.ring_in
        if ring is None:
            if self.closed:
                raise closed_error()
            raise SharedMemoryError('shared memory: a ring slot (kind 2) '
                                    'before any ring')
        try:
            check_size(found.length, max_payload)
        except NPipesError as exc:
            raise SharedMemoryError(f'shared memory: {exc}') from None
        return ring.take(found.position, found.length,
                         found.crc if self.crc else None)

    @contextmanager
    def receiving(self, close: Callable[[], None]) -> Iterator[None]:
        """Around a driver's receive (both drivers): a refused frame's file
        is closed, and a shared-memory refusal closes the connection
        (*close*) before the error goes on."""
        try:
            yield
        except FrameError as exc:
            if isinstance(exc, SharedMemoryError):
                close()
            if self.files is not None:
                self.files.discard()
            raise

    def close(self) -> None:
        """The connection closes: queued files closed, rings unmapped."""
        self.closed = True
        if self.files is not None:
            self.files.discard()
        rings, self.ring_out, self.ring_in = \
            (self.ring_out, self.ring_in), None, None
        for ring in rings:
            if ring is not None:
                ring.close()

    # -- sending through the ring (§8) -------------------------------------
    def ring_fits(self, size: int) -> bool:
        """Whether a payload of *size* bytes goes through the ring now: it
        fits and no other slot is being written (else a file of its own)."""
        ring = self.ring_out
        return size <= self.capacity and (ring is None or not ring.busy)

    def ring_place(self, size: int) -> int:
        """The position of a slot of *size* bytes, the ring created on
        first use; the ring is busy until the slot is sent or dropped."""
        ring = self.ring_out
        if ring is None:
            token, mapping = self.port.create_ring(self.capacity)
            fd: Optional[int] = token      # the file its first frame carries
            if self.files is None:         # the section's handle: kept
                self._attach = self._codec.frame(
                    PAGE + self.capacity, 0, self.crc, KIND_SECTION, token)
                fd = None
            ring = RingWriter(fd, mapping, self.capacity, self.port.close_file)
            self.ring_out = ring
            self._unless_closed(ring, 'ring_out')
        return ring.place(size)

    def _unless_closed(self, ring: Union[RingReader, RingWriter],
                       name: str) -> None:
        """After *ring* was stored as *name*: if the connection closed
        meanwhile (another thread; close may not have seen it), close it
        and fail as on a closed connection."""
        if self.closed:
            setattr(self, name, None)
            ring.close()
            raise closed_error()

    def _ring_out(self) -> RingWriter:
        """The ring of the slot being sent; closed_error() if the
        connection closed meanwhile (another thread)."""
        ring = self.ring_out
        if ring is None:
            raise closed_error()
        return ring

    def ring_room(self, position: int, size: int) -> bool:
        """Whether the slot placed may be written now."""
        return self._ring_out().room(position, size)

    def ring_write(self, position: int,
                   payload: Union[bytes, bytearray, memoryview]) -> int:
        """Copy *payload* into its slot (one memcpy); its CRC (or 0)."""
        self._ring_out().write(position, payload)
        return zlib.crc32(payload) & 0xFFFFFFFF if self.crc else 0

    def ring_slot(self, position: int, size: int) -> Slot:
        """The slot placed, for the caller to write in place (§6)."""
        ring = self._ring_out()
        region = ring.region
        if region is None:
            raise closed_error()
        return Slot(region, position % ring.capacity, size)

    def ring_finish(self, slot: Slot) -> int:
        """The CRC (or 0) of a slot the caller filled, once every view of
        it is released (else an error, and the slot is dropped)."""
        try:
            if self.closed:                 # (before the view count: close
                raise closed_error()        # let go of the ring's own)
            crc = slot.finish(self.crc)
        except BaseException:
            self.ring_drop(slot)
            raise
        slot.drop()
        return crc

    def ring_drop(self, slot: Slot) -> None:
        """A slot handed out is not sent: let go of it and of the ring."""
        slot.drop()
        self.ring_unsent(False)

    def ring_frame(self, position: int, size: int, crc: int
                   ) -> Tuple[bytes, Optional[int], Optional[bytes]]:
        """The slot's descriptor frame; the ring's file when this frame is
        the first on Linux (it carries it; the caller closes it once sent);
        on Windows, the kind-3 frame to send first (a write of its own)
        when this slot is the ring's first."""
        ring = self._ring_out()
        fd, ring.fd = ring.fd, None
        attach, self._attach = self._attach, None
        return self._codec.frame(size, crc, self.crc, KIND_RING, position,
                                 0 if fd is None else RING_FILE), fd, attach

    def ring_sent(self, position: int, size: int) -> None:
        """The slot's frame was sent."""
        self._ring_out().sent(position, size)

    def ring_unsent(self, with_file: bool) -> None:
        """The slot placed is not sent; when its frame was to carry the
        ring's file (now closed) or follow the ring's kind-3 frame, the
        ring goes: the next slot makes one."""
        ring = self.ring_out
        if ring is not None:
            ring.abandon()
            if with_file:
                self.ring_out, self._attach = None, None
                ring.close()

    def ring_send(self, position: int, size: int, crc: int,
                  deadline: Deadline) -> None:
        """Send the slot's descriptor frame (the blocking driver's)."""
        frame, fd, attach = self.ring_frame(position, size, crc)
        port = self.port
        if attach is not None:
            try:
                port.send_frame(attach, deadline)
            except BaseException:
                self.ring_unsent(True)
                raise
        try:
            if fd is None:
                port.send_frame(frame, deadline)
            else:
                self.file_port().send_file(fd, frame, deadline)
        except BaseException:
            self.ring_unsent(fd is not None)
            raise
        self.ring_sent(position, size)

    def wanted(self, size: int) -> bool:
        """Whether a payload of *size* bytes goes through shared memory."""
        return size >= self.option.min_payload and size > 0


class Linked:
    """What the in-place methods of both Connections (_shmconn.InPlace,
    _aio_shm.AioInPlace) read of their Connection."""

    #: The connection's shared memory (None: off).
    _shm: Optional[ShmLink] = None
    max_payload: Optional[int]
    close: Callable[[], None]
