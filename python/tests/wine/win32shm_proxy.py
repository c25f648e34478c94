"""A Wine-backed ``npipes._win32shm``: the section calls of shared memory on
Windows (docs/shared-memory.md §9) run in winapi_helper.exe, as
win32_proxy's access calls do, and the views are REAL shared memory.

Installed as ``sys.modules['npipes._win32shm']`` by bootstrap.py.  Sections,
process handles and views live in the helper ("this process" for npipes:
it holds every pipe handle).  A view the helper maps (MapViewOfFile) is not
in this Python's address space, so ``map_view`` maps the same pages here
too: Linux shows every mapping of a process at
``/proc/<pid>/map_files/<start>-<end>`` (openable by root, as CI runs),
which is the file Wine backs the section with; this process maps that file
at the view's offset.  The ring code then runs over the section's own
memory, shared with the helper and with every Wine process mapping it
(.NET's included).  (npipes is imported only inside the calls: this
module is installed before npipes may be imported.)
"""

import mmap
import os
import weakref
from typing import Any, Tuple

import winapi_proxy

SEC_FILE, SEC_IMAGE, SEC_RESERVE = 0x800000, 0x1000000, 0x4000000
SEC_COMMIT, SEC_LARGE_PAGES = 0x8000000, 0x80000000
FILE_MAP_WRITE, FILE_MAP_READ = 0x2, 0x4
PAGE = 4096


def create_section(size: int, flags: int = SEC_COMMIT, path: Any = None) -> int:
    """(*flags* and *path*: the red team's other sections.)"""
    return int(winapi_proxy.call('CreateSection', flags, size, path)[0])


def open_process(pid: int) -> int:
    return int(winapi_proxy.call('OpenProcess', 0x40, pid)[0])


def duplicate_from(process: int, value: int) -> int:
    return int(winapi_proxy.call('DuplicateFrom', process, value, 1 | 2 | 4)[0])


def query_section(section: int) -> Tuple[int, int]:
    attributes, size = winapi_proxy.call('QuerySection', section)
    return int(attributes) & 0xFFFFFFFF, int(size)


def close_handle(handle: int) -> None:
    winapi_proxy.call('CloseHandle', handle)


def handle_count() -> Tuple[int, int]:
    """The helper's section and process handles (counted by type: its
    other handles, the overlapped calls' events, come and go on their own;
    Wine 8's GetProcessHandleCount answers 0)."""
    section = create_section(PAGE)
    try:
        process = open_process(winapi_proxy.helper_pid())
        try:
            return (int(winapi_proxy.call('HandleCount', section)[0]) - 1,
                    int(winapi_proxy.call('HandleCount', process)[0]) - 1)
        finally:
            close_handle(process)
    finally:
        close_handle(section)


def _linux_range(pid: int, address: int) -> Tuple[int, int, int]:
    """``(start, end, file offset)`` of the mapping holding *address* in
    Linux process *pid*."""
    with open(f'/proc/{pid}/maps') as maps:
        for line in maps:
            span, _, offset = line.split()[:3]
            start, end = (int(x, 16) for x in span.split('-'))
            if start <= address < end:
                return start, end, int(offset, 16)
    raise OSError(f'no mapping at 0x{address:x} in process {pid}')


def map_view(section: int, writable: bool, size: int) -> Any:
    """A view of the section in the helper, mapped here too (module doc)."""
    from npipes._shmring import Memory
    address = int(winapi_proxy.call('MapView', section,
                                    FILE_MAP_WRITE if writable else FILE_MAP_READ, size)[0])
    try:
        pid = winapi_proxy.helper_linux_pid()
        start, end, offset = _linux_range(pid, address)
        fd = os.open(f'/proc/{pid}/map_files/{start:x}-{end:x}',
                     os.O_RDWR if writable else os.O_RDONLY)
        try:
            mapping = mmap.mmap(fd, size, offset=offset + address - start,
                                access=mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ)
        finally:
            os.close(fd)
    except BaseException:
        winapi_proxy.call('UnmapView', address)
        raise

    # As _win32shm.view_at: the helper's view goes with the last view of
    # it here (the mmap's end), never while one is in use.
    weakref.finalize(mapping, winapi_proxy.call, 'UnmapView',
                     address).atexit = False
    return Memory(memoryview(mapping), mapping.close)


__all__ = ['create_section', 'open_process', 'duplicate_from', 'query_section',
           'map_view', 'close_handle', 'handle_count']
