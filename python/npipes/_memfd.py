"""Sealed memfds on Linux (docs/shared-memory.md §3, §4.3-4, §8): making
a payload's file or the ring's, sealing it, and checking and mapping one
received.  No socket: handing the files over is _unixshm.MemfdPort's."""

from __future__ import annotations

import fcntl
import mmap
import os
import stat
import sys
from typing import Dict, Tuple

from ._shmring import PAGE, Memory, check_ring_size
from ._util import Buffer, typed_os_errors
from .errors import SharedMemoryError

__all__ = ['available', 'create', 'create_ring', 'write_file', 'seal',
           'map_file', 'map_ring']

#: The seals a received file must have (§4.4) and the ones a sender adds.
_NEEDED = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
_SEALS = _NEEDED | fcntl.F_SEAL_SEAL
#: The ring's (§8): never F_SEAL_WRITE, both sides keep writing.
_RING_NEEDED = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
_RING_SEALS = _RING_NEEDED | fcntl.F_SEAL_SEAL
#: Fault the sender's pages in at once (measured: writing into a populated
#: mapping is faster than a fault per page); Python 3.10+.
_POPULATE: int = getattr(mmap, 'MAP_POPULATE', 0)
#: A ring's mappings live as long as the connection: from Python 3.13 they
#: keep no duplicate of the file's descriptor (before, each holds one).
_NO_FD: Dict[str, bool] = {'trackfd': False} \
    if sys.version_info >= (3, 13) else {}


def available() -> bool:
    """Whether this system can create sealed memfds."""
    return hasattr(os, 'memfd_create') and hasattr(fcntl, 'F_ADD_SEALS')


def _memory(mapping: mmap.mmap) -> Memory:
    return Memory(memoryview(mapping), mapping.close)


def _size(fd: int) -> int:
    """The size of the regular file *fd* (a received one)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise SharedMemoryError('shared memory: the file received is not a '
                                'regular file')
    return st.st_size


def _check_seals(fd: int, needed: int, against: str) -> None:
    """SharedMemoryError unless *fd* is a memfd with the seals *needed*."""
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    except OSError:
        seals = 0                          # not a memfd (EINVAL)
    if seals & needed != needed:
        raise SharedMemoryError(f'shared memory: the file received is not a '
                                f'memfd sealed against {against}')


# -- receiving (§4.3-4, §8) ---------------------------------------------------
@typed_os_errors
def map_file(fd: int, length: int) -> mmap.mmap:
    """Check the file *fd* (§4.3-4) and map it read-only; *fd* is closed
    whatever happens."""
    try:
        size = _size(fd)
        if size != length:
            raise SharedMemoryError(
                f'shared memory: the file received holds {size} '
                f'bytes, the descriptor announces {length}')
        _check_seals(fd, _NEEDED, 'writing, growing and shrinking')
        return mmap.mmap(fd, length, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


@typed_os_errors
def map_ring(fd: int) -> Tuple[Memory, Memory, int]:
    """Check the ring's file *fd* (§8) and map it: ``(control page
    read-write, data region read-only, capacity)``; *fd* is closed
    whatever happens."""
    try:
        capacity = check_ring_size(_size(fd))
        _check_seals(fd, _RING_NEEDED, 'growing and shrinking')
        try:
            control = mmap.mmap(fd, PAGE, **_NO_FD)
            try:
                return _memory(control), _memory(mmap.mmap(
                    fd, capacity, offset=PAGE, access=mmap.ACCESS_READ,
                    **_NO_FD)), capacity
            except BaseException:
                control.close()
                raise
        except OSError as exc:         # e.g. a descriptor opened read-only
            raise SharedMemoryError(f'shared memory: the ring received '
                                    f'cannot be mapped: {exc}') from None
    finally:
        os.close(fd)


# -- sending (§3, §8) ---------------------------------------------------------
def _new(length: int, name: str = 'npipes') -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.ftruncate(fd, length)
    except BaseException:
        os.close(fd)
        raise
    return fd


@typed_os_errors
def create(length: int) -> Tuple[int, mmap.mmap]:
    """A memfd of *length* bytes and its writable mapping."""
    fd = _new(length)
    try:
        return fd, mmap.mmap(fd, length, mmap.MAP_SHARED | _POPULATE)
    except BaseException:
        os.close(fd)
        raise


@typed_os_errors
def create_ring(capacity: int) -> Tuple[int, Memory]:
    """The ring's file (control page and *capacity* bytes), sealed
    against growing and shrinking, and its writable mapping; its pages
    are faulted in as slots first use them."""
    fd = _new(PAGE + capacity, 'npipes-ring')
    try:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _RING_SEALS)
        return fd, _memory(mmap.mmap(fd, PAGE + capacity, **_NO_FD))
    except BaseException:
        os.close(fd)
        raise


@typed_os_errors
def write_file(payload: Buffer) -> int:
    """A memfd holding *payload*, written with pwrite (measured: a third
    less time than a mapping, its faults and its unmapping)."""
    view = memoryview(payload).cast('B')
    fd = _new(len(view))
    try:
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:], done)
    except BaseException:
        os.close(fd)
        raise
    return fd


def seal(fd: int) -> None:
    """Seal the payload's file *fd* against every change (§3.2), once: a
    retry after EAGAIN finds F_SEAL_SEAL, which refuses every later
    F_ADD_SEALS (EPERM)."""
    if not fcntl.fcntl(fd, fcntl.F_GET_SEALS) & fcntl.F_SEAL_SEAL:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
