"""What a stream's shared memory offers the link (docs/shared-memory.md),
in two parts as .NET's ISharedMemoryTransport and ISharedFileTransport:
the ring, on every platform that has shared memory (§8, §9), and the
files that travel beside the bytes where the transport can hand them over
(§3, §4; Linux).  The link asks the ring port for its file port (None:
no file travels) instead of asking which system it runs on.

_unixshm.MemfdPort (Linux) is both; _winshm.SectionPort (Windows) is the
ring alone.
"""

from __future__ import annotations

import mmap
from typing import TYPE_CHECKING, Optional, Protocol, Tuple

if TYPE_CHECKING:
    from ._shmframe import Descriptor
    from ._shmring import Memory
    from ._util import Buffer, Deadline

__all__ = ['RingPort', 'FilePort']


class RingPort(Protocol):
    """A stream's ring (§8; on Windows a section, §9): made, taken from
    the peer, announced; *token* is what create_ring returns (the ring's
    file on Linux, its section handle on Windows)."""

    @property
    def files(self) -> Optional[FilePort]:
        """The files that travel beside the bytes (kind 1, and the ring's
        file with its first slot's frame, flags bit 0), or None where none
        can (§9: no kind 1 is sent, a payload the ring cannot take goes
        inline, the ring is announced by a kind-3 frame of its own, and
        reads are the stream's)."""

    def create_ring(self, capacity: int) -> Tuple[int, Memory]:
        """The ring (control page and *capacity* bytes) and its writable
        mapping: ``(token, mapping)``."""

    def take_ring(self, found: Descriptor) -> Tuple[Memory, Memory, int]:
        """The peer's ring, checked and mapped: ``(control page
        read-write, data region read-only, capacity)``.  With files, the
        one the kind-2 frame *found* (flags bit 0) brought (§8); without,
        the section the kind-3 frame *found* names (§9 steps 1-4).
        Nothing else is left open, whatever fails."""

    def send_frame(self, frame: bytes, deadline: Deadline) -> None:
        """Send *frame*, a descriptor frame carrying no file (the blocking
        driver's)."""

    def close_file(self, token: int) -> None:
        """Close a ring's *token* this port made."""


class FilePort(Protocol):
    """Files beside a stream's bytes (§3, §4, §8; Linux): every read
    collects the files that arrive with it, a descriptor frame claims
    one, and a send can carry one."""

    # -- receiving (§4) ----------------------------------------------------
    def recv_into(self, view: memoryview) -> int:
        """Read into *view* (blocking), keeping the file that arrives;
        OSError is the caller's to translate."""

    def recv_until(self, view: memoryview, deadline: Deadline) -> int:
        """:meth:`recv_into` that gives up at *deadline*
        (PipeTimeoutError); OSError translated."""

    def take_file(self) -> int:
        """The file of the descriptor frame just completed (§4.1)."""

    def no_file(self) -> None:
        """An ordinary frame completed: no file may have come with it."""

    def discard(self) -> None:
        """Close every queued file."""

    def close_file(self, fd: int) -> None:
        """Close a file this port handed out."""

    def map_file(self, fd: int, length: int) -> mmap.mmap:
        """Check the file *fd* (§4.3-4) and map it read-only; *fd* is
        closed whatever happens."""

    # -- sending (§3) ------------------------------------------------------
    def create(self, length: int) -> Tuple[int, mmap.mmap]:
        """A file of *length* bytes and its writable mapping."""

    def write_file(self, payload: Buffer) -> int:
        """A file holding *payload*."""

    def send_file(self, fd: int, frame: bytes, deadline: Deadline) -> None:
        """Seal *fd* and send *frame* carrying it (the blocking driver's);
        *fd* is closed whatever happens."""

    def offer_file(self, fd: int, frame: bytes) -> int:
        """One non-blocking send of *frame* carrying *fd*, sealed first
        (asyncio's): the bytes sent, BlockingIOError if none; *fd* stays
        open."""

    def queue_empty(self) -> bool:
        """Whether the peer has read everything sent (§3.4)."""
