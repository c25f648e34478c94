"""The ring of one connection and direction (docs/shared-memory.md §8):
where the sender places each slot, when it may write it, and what the
receiver checks before it copies a slot out.  No system call: the memory
comes from the ring port (_util.RingPort: _unixshm.py on Linux,
_winshm.py on Windows) with its own way of letting go of it (Memory), the waiting is the driver's.

The ring's file (Windows: section) is ``PAGE + capacity`` bytes: a control page whose first
8 bytes are the receiver's ``consumed`` (little-endian, one aligned store
after each copy), then the data region holding the slots.
"""

from __future__ import annotations

import collections
import ctypes
import sys
import zlib
from typing import (TYPE_CHECKING, Callable, Deque, Optional, Tuple, Type,
                    Union)

from .errors import NPipesError, SharedMemoryError

__all__ = ['PAGE', 'MAX_CAPACITY', 'capacity_for', 'RingWriter',
           'RingReader', 'Slot', 'Memory', 'check_ring_size']

#: The control page, and the unit of the data region's size.
PAGE = 4096
#: The largest data region a receiver accepts (§8): 1 GiB.
MAX_CAPACITY = 1 << 30

#: ``consumed`` is little-endian whatever the host (§8): the native word on
#: a little-endian host (one aligned load or store).
_WORD: Type[ctypes.c_uint64] = ctypes.c_uint64 if sys.byteorder == 'little' \
    else getattr(ctypes.c_uint64, '__ctype_le__')


Buffer = Union[bytes, bytearray, memoryview]

if TYPE_CHECKING:
    #: The data region as ctypes sees it (a generic only to type checkers
    #: before Python 3.9).
    Region = ctypes.Array[ctypes.c_ubyte]


class Memory:
    """Memory a port mapped for a ring: ``view``, a memoryview of it
    (format 'B'; read-only where the mapping is), and what to do when the
    ring lets go of it (an mmap's close; for a Windows view, nothing: it
    is unmapped when its last view is gone, _win32shm.view_at, and on the
    sender the section handle is closed)."""

    __slots__ = ('view', '_unmap')

    def __init__(self, view: memoryview, unmap: Callable[[], None]) -> None:
        self.view = view
        self._unmap = unmap

    def close(self) -> None:
        """Let go of the memory: unmapped now if no view taken of it is
        alive, else with the last of them (a caller's view of a slot it
        wrote in place: an mmap unmaps when it is freed, a Windows view by
        its finalizer), so memory in use is never unmapped and memory no
        longer in use never outlives it.  Nothing is kept by this object:
        its view is released (ValueError on use)."""
        view, self.view = self.view, _RELEASED
        unmap, self._unmap = self._unmap, _nothing
        try:
            view.release()
        except BufferError:
            pass        # a view is still in use (see above)
        del view
        try:
            unmap()
        except BufferError:
            pass        # an mmap with a view in use: freed with the last


def _nothing() -> None:
    """(A closed Memory's unmap.)"""


_RELEASED = memoryview(b'')
_RELEASED.release()


def closed_error() -> NPipesError:
    """The error of a ring used after its connection closed (by another
    thread while a send or receive ran): as the connection's own."""
    return NPipesError('connection is closed')


def _held(memory: Memory) -> memoryview:
    """A view of *memory* of the caller's own, which keeps it mapped while
    the caller uses it even if the ring is closed meanwhile (Memory.close
    then unmaps with the last view); closed_error() if it is closed."""
    try:
        return memoryview(memory.view)
    except ValueError:                      # released: the ring is closed
        raise closed_error() from None


def capacity_for(max_in_flight: int) -> int:
    """The data region of a sender whose budget is *max_in_flight* bytes:
    rounded up to a multiple of PAGE, at most MAX_CAPACITY (a larger ring
    would be refused: payloads above it go in files of their own)."""
    return min(-(-max_in_flight // PAGE) * PAGE, MAX_CAPACITY)


def check_ring_size(size: int) -> int:
    """The capacity of a received ring file of *size* bytes; a
    SharedMemoryError unless it is a non-zero multiple of PAGE at most
    MAX_CAPACITY."""
    capacity = size - PAGE
    if capacity <= 0 or capacity % PAGE or capacity > MAX_CAPACITY:
        raise SharedMemoryError(
            f'shared memory: the ring received holds {size} bytes: its data '
            f'region must be a non-zero multiple of {PAGE} bytes of at most '
            f'{MAX_CAPACITY}')
    return capacity


def _ceil(position: int, capacity: int) -> int:
    return -(-position // capacity) * capacity


class RingWriter:
    """The sender's ring: its writable mapping of the whole file, the end
    of the last slot sent, and the slot being written (one at a time).
    ``fd`` is the Linux ring's file until the frame carrying it goes
    (None on Windows, whose section handle the Memory's unmap closes)."""

    __slots__ = ('mapping', 'capacity', 'end', 'fd', 'busy', 'region',
                 '_word', '_seen', '_skips', '_close_fd')

    def __init__(self, fd: Optional[int], mapping: Memory, capacity: int,
                 close_fd: Callable[[int], None]) -> None:
        self.mapping = mapping
        self.capacity = capacity
        #: The end (position + length) of the last slot sent.
        self.end = 0
        #: The ring's file until the frame carrying it is sent, then None.
        self.fd: Optional[int] = fd
        #: A slot is placed and not yet sent (or abandoned).
        self.busy = False
        self._close_fd = close_fd
        self._word: Optional[ctypes.c_uint64] = \
            _WORD.from_buffer(mapping.view)
        #: The data region, for slots written in place (Slot).
        self.region: Optional[Region] = \
            (ctypes.c_ubyte * capacity).from_buffer(mapping.view, PAGE)
        self._seen = 0
        #: ``(from, to)`` of each skip ahead (§8 placement) not yet read
        #: past: a few at most, in-flight bytes being within one capacity.
        self._skips: Deque[Tuple[int, int]] = collections.deque()

    def consumed(self) -> int:
        """The receiver's ``consumed``, checked: going backwards or past the
        end of what was sent is a SharedMemoryError."""
        word = self._word                   # (it keeps the memory mapped)
        if word is None:
            raise closed_error()
        value = int(word.value)
        if value < self._seen or value > self.end:
            raise SharedMemoryError(
                f'shared memory: the receiver reports {value} ring bytes '
                f'consumed, after {self._seen}, of {self.end} sent')
        self._seen = value
        return value

    def place(self, length: int) -> int:
        """The position of the next slot of *length* bytes (<= capacity):
        at the end, or up at the next multiple of capacity when it would
        wrap or when everything sent has been consumed.  The ring is busy
        until :meth:`sent` or :meth:`abandon`."""
        capacity, position = self.capacity, self.end
        if self.consumed() == position or \
                position % capacity + length > capacity:
            position = _ceil(position, capacity)
        self.busy = True
        return position

    def room(self, position: int, length: int) -> bool:
        """Whether the slot may be written: it ends at most capacity bytes
        after the oldest slot still unread (so it overlaps nothing unread).
        That slot starts at ``consumed``, or where the sender skipped to
        from there (the bytes skipped hold nothing)."""
        consumed = self.consumed()
        skips = self._skips
        if consumed == self.end:
            skips.clear()
            return True                     # nothing unread
        while skips and skips[0][1] <= consumed:
            skips.popleft()
        oldest = skips[0][1] if skips and skips[0][0] == consumed \
            else consumed
        return position + length - oldest <= self.capacity

    def write(self, position: int, payload: Buffer) -> None:
        """Copy *payload* into the slot at *position* (one memcpy)."""
        view = memoryview(payload)
        if view.format != 'B':
            view = view.cast('B')
        start = PAGE + position % self.capacity
        with _held(self.mapping) as target:
            target[start:start + len(view)] = view

    def sent(self, position: int, length: int) -> None:
        """The slot's descriptor frame was sent."""
        if position != self.end:            # skipped ahead (`place`)
            self._skips.append((self.end, position))
        self.end = position + length
        self.busy = False

    def abandon(self) -> None:
        """The slot placed was not sent: the next one may take its place."""
        self.busy = False

    def close(self) -> None:
        """Unmap the ring (unless a caller still holds a slot: see below)
        and close its file if it was never sent."""
        fd, self.fd, self._word = self.fd, None, None
        region, self.region = self.region, None
        if fd is not None:
            self._close_fd(fd)
        # A slot handed out, or a view the caller took of it, keeps the
        # region's memory mapped until the last of them goes (Memory.close).
        del region
        self.mapping.close()


class RingReader:
    """The receiver's ring: the data region read-only, the control page's
    ``consumed`` written after each copy."""

    __slots__ = ('control', 'data', 'capacity', 'end', '_word')

    def __init__(self, control: Memory, data: Memory,
                 capacity: int) -> None:
        self.control, self.data, self.capacity = control, data, capacity
        #: The end of the last slot copied out.
        self.end = 0
        self._word: Optional[ctypes.c_uint64] = \
            _WORD.from_buffer(control.view)

    def take(self, position: int, length: int, expected: Optional[int]
             ) -> bytes:
        """A copy of the slot of *length* bytes (already checked against
        the payload limit) at *position*, its CRC checked against
        *expected* (None: CRC off); ``consumed`` stored after the copy."""
        capacity, end = self.capacity, self.end
        if length > capacity:
            raise SharedMemoryError(
                f'shared memory: a ring slot of {length} bytes does not fit '
                f'the ring of {capacity}')
        if not end <= position < end + capacity:
            raise SharedMemoryError(
                f'shared memory: ring slot at {position}: the previous one '
                f'ended at {end} (a slot starts at or after it, less than '
                f'{capacity} bytes later)')
        start = position % capacity
        if start + length > capacity:
            raise SharedMemoryError(
                f'shared memory: ring slot at {position} of {length} bytes '
                f'wraps past the end of the ring of {capacity}')
        word = self._word                   # (it keeps the memory mapped)
        if word is None:
            raise closed_error()
        with _held(self.data) as data:
            copy = bytes(data[start:start + length])
        if expected is not None:
            computed = zlib.crc32(copy)
            if computed != expected:
                raise SharedMemoryError(
                    f'shared memory: CRC-32 mismatch: the descriptor says '
                    f'0x{expected:08x}, the ring slot has 0x{computed:08x}')
        self.end = position + length
        word.value = self.end
        return copy

    def close(self) -> None:
        """Unmap both mappings."""
        self._word = None
        self.control.close()
        self.data.close()


class Slot:
    """A ring slot handed to the caller to fill in place (§6), a view of
    the ring's data region as a ctypes array: the array's reference count
    tells whether a view the caller took of the slot is still alive (the
    ring is never unmapped per message, so the mapping cannot tell; one
    array per ring, not per length: ctypes keeps every array type)."""

    __slots__ = ('_region', '_start', '_stop', '_free')

    def __init__(self, region: Region, start: int, length: int) -> None:
        self._region: Optional[Region] = region
        self._start, self._stop = start, start + length
        self._free = 0

    def _refs(self) -> int:
        return sys.getrefcount(self._region)

    def view(self) -> memoryview:
        """A writable view of the slot, bytes (format 'B')."""
        assert self._region is not None
        self._free = self._refs()            # (before any view of ours)
        return memoryview(self._region).cast('B')[self._start:self._stop]

    def finish(self, crc: bool) -> int:
        """The slot's CRC-32 (0 when *crc* is off) once every view of it is
        released; a view still held is an NPipesError (nothing sent)."""
        if self._refs() != self._free:
            raise NPipesError('a view of OutgoingMessage.buffer is still in '
                              'use: release it before send()')
        if not crc:
            return 0
        with self.view() as view:
            return zlib.crc32(view) & 0xFFFFFFFF

    def drop(self) -> None:
        """Let go of the ring (the slot is sent or abandoned)."""
        self._region = None
