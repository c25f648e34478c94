"""Shared memory on Windows for one connected pipe (docs/shared-memory.md
§9): the ring alone, in an unnamed section that the receiver duplicates
out of the peer's process and checks before it maps it.

Offered through ``_windows.Stream.capabilities().shared_memory``; the
frames and the rules of when to use them are the connection's
(_shmlink.py), the Windows calls _win32shm.py's (replaced in the Wine
lane: hence ``_win32shm.name(...)``, never imported names).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, TypeVar

from . import _win32shm
from ._shmframe import Descriptor
from ._shmring import PAGE, Memory, check_ring_size
from ._util import Deadline, FilePort
from .errors import SharedMemoryError

__all__ = ['SectionPort']

ERROR_ACCESS_DENIED = 5
#: What a ring's section must be (§9 step 3): committed paging-file memory
#: (no read can fault, and it never shrinks).
_REFUSED = (_win32shm.SEC_FILE | _win32shm.SEC_IMAGE
            | _win32shm.SEC_RESERVE | _win32shm.SEC_LARGE_PAGES)
_T = TypeVar('_T')


def _error(what: str, exc: OSError) -> SharedMemoryError:
    return SharedMemoryError(
        f'shared memory: {what} failed: {exc.strerror or exc} (Windows '
        f'error {getattr(exc, "winerror", None)})')


def _step(what: str, call: Callable[..., _T], *args: Any) -> _T:
    """*call(args)*; its OSError as a SharedMemoryError naming *what*."""
    try:
        return call(*args)
    except OSError as exc:
        raise _error(what, exc) from None


class SectionPort:
    """The ring on one connected Windows pipe (a _util.RingPort without
    files) whose peer's process is *peer_pid* (the pipe's own report, read
    at connect); *send* writes one frame as one pipe message."""

    def __init__(self, peer_pid: int,
                 send: Callable[[bytes, Deadline], None]) -> None:
        self._pid = peer_pid
        self.send_frame = send

    @property
    def files(self) -> Optional[FilePort]:
        """None: no file travels beside a pipe's bytes; the ring is a
        section announced by a kind-3 frame of its own (§9)."""
        return None

    @staticmethod
    def close_file(handle: int) -> None:
        """Close a handle this port made."""
        _win32shm.close_handle(handle)

    # -- receiving (§9 Attaching) -------------------------------------------
    def take_ring(self, found: Descriptor) -> Tuple[Memory, Memory, int]:
        """The ring section the kind-3 frame *found* names (its position:
        the handle's value in the peer's process; its length: the
        section's), checked and mapped as :meth:`attach_ring`."""
        return self.attach_ring(found.position, found.length)

    def attach_ring(self, value: int, length: int
                    ) -> Tuple[Memory, Memory, int]:
        """The ring section that handle *value* names in the peer's
        process, checked (§9 steps 1-4) and mapped: ``(control page
        read-write, data region read-only, capacity)``; nothing is left
        open whatever fails."""
        capacity = check_ring_size(length)
        process = self._open_peer()
        try:
            section = _step(f'duplicating the peer\'s ring section (handle '
                            f'0x{value:x} in pid {self._pid})',
                            _win32shm.duplicate_from, process, value)
        finally:
            _win32shm.close_handle(process)
        try:
            _check(section, length)
            whole = _step('mapping the ring section read-only',
                          _win32shm.map_view, section, False, length)
            try:
                control = _step('mapping the ring\'s control page writable',
                                _win32shm.map_view, section, True, PAGE)
            except BaseException:
                whole.close()
                raise
        finally:
            _win32shm.close_handle(section)
        return control, Memory(whole.view[PAGE:], whole.close), capacity

    def _open_peer(self) -> int:
        """§9 step 2's process handle (PROCESS_DUP_HANDLE)."""
        what = f'opening the peer\'s process (pid {self._pid}) to take its ring'
        if self._pid < 0:
            raise SharedMemoryError(f'shared memory: {what}: the pipe did '
                                    f'not say which process the peer is')
        try:
            return _win32shm.open_process(self._pid)
        except OSError as exc:
            if getattr(exc, 'winerror', None) == ERROR_ACCESS_DENIED:
                raise SharedMemoryError(
                    f'shared memory: {what} was refused: access denied; '
                    f'shared memory on Windows needs the receiver to be '
                    f'allowed to open the sender\'s process') from None
            raise _error(what, exc) from None

    # -- sending (§9 The section) -------------------------------------------
    @staticmethod
    def create_ring(capacity: int) -> Tuple[int, Memory]:
        """The ring's section (control page and *capacity* bytes) and its
        writable view; closing the view closes the section's handle too
        (kept open until then: the peer may not have duplicated it yet)."""
        section = _step('creating the ring section',
                        _win32shm.create_section, PAGE + capacity)
        try:
            view = _step('mapping the ring section',
                         _win32shm.map_view, section, True, PAGE + capacity)
        except BaseException:
            _win32shm.close_handle(section)
            raise

        def unmap() -> None:
            try:
                view.close()
            finally:
                _win32shm.close_handle(section)
        return section, Memory(view.view, unmap)


def _check(section: int, length: int) -> None:
    """§9 step 3: committed paging-file memory of exactly *length* bytes."""
    attributes, size = _step('querying the ring section (NtQuerySection)',
                             _win32shm.query_section, section)
    if not attributes & _win32shm.SEC_COMMIT or attributes & _REFUSED:
        raise SharedMemoryError(
            f'shared memory: the ring section is not committed memory of the '
            f'paging file (attributes 0x{attributes:x}: SEC_COMMIT needed, '
            f'none of SEC_FILE, SEC_IMAGE, SEC_RESERVE, SEC_LARGE_PAGES)')
    if size != length:
        raise SharedMemoryError(
            f'shared memory: the ring section holds {size} bytes, the attach '
            f'frame announces {length}')
