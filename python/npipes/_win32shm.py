"""The Windows section primitives of shared memory (docs/shared-memory.md
§9), through ctypes (standard library only).

As _win32.py: small functions, each one Windows call or a short fixed
chain, replaceable by stand-ins of the same names (the Wine lane's
tests/wine/win32shm_proxy.py runs them in its helper process).  Each
failure is an OSError whose ``winerror`` is the system's error and whose
text names the call; the rules (what to check, in which order) are
_winshm.py's.  kernel32 and ntdll are loaded on first use, so that
:func:`view_at` (the view of a mapping, the one piece that is not a call)
runs on any system.
"""

from __future__ import annotations

import ctypes
import functools
import weakref
from ctypes import wintypes
from typing import Any, Callable, Tuple

from ._shmring import Memory

__all__ = ['create_section', 'open_process', 'duplicate_from',
           'query_section', 'map_view', 'view_at', 'close_handle',
           'SEC_COMMIT', 'SEC_FILE', 'SEC_IMAGE', 'SEC_RESERVE',
           'SEC_LARGE_PAGES']

PAGE_READWRITE = 0x04
SEC_FILE = 0x800000
SEC_IMAGE = 0x1000000
SEC_RESERVE = 0x4000000
SEC_COMMIT = 0x8000000
SEC_LARGE_PAGES = 0x80000000
PROCESS_DUP_HANDLE = 0x0040
SECTION_QUERY, SECTION_MAP_WRITE, SECTION_MAP_READ = 0x1, 0x2, 0x4
FILE_MAP_WRITE, FILE_MAP_READ = 0x2, 0x4
SECTION_BASIC_INFORMATION = 0
INVALID_HANDLE_VALUE = ctypes.c_void_p(-1).value


class _SectionBasic(ctypes.Structure):
    _fields_ = [('BaseAddress', ctypes.c_void_p),
                ('AllocationAttributes', wintypes.ULONG),
                ('MaximumSize', ctypes.c_longlong)]


@functools.lru_cache(maxsize=None)
def _dll(name: str) -> Any:
    # (through getattr: WinDLL exists in ctypes on Windows only)
    dll = getattr(ctypes, 'WinDLL')(name, use_last_error=True)
    if name == 'kernel32':
        for call in ('CreateFileMappingW', 'OpenProcess', 'MapViewOfFile',
                     'GetCurrentProcess'):
            getattr(dll, call).restype = ctypes.c_void_p
    return dll


def _fail(what: str, code: int = -1) -> OSError:
    if code < 0:
        code = getattr(ctypes, 'get_last_error')()
    text: str = getattr(ctypes, 'FormatError')(code).strip()
    return OSError(None, f'{what} failed: {text}', None, code)


def create_section(size: int) -> int:
    """CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE |
    SEC_COMMIT, size): an unnamed section of *size* bytes of the paging
    file, every page committed; its handle."""
    handle = _dll('kernel32').CreateFileMappingW(
        ctypes.c_void_p(INVALID_HANDLE_VALUE), None,
        PAGE_READWRITE | SEC_COMMIT, size >> 32, size & 0xFFFFFFFF, None)
    if not handle:
        raise _fail('CreateFileMappingW')
    return int(handle)


def open_process(pid: int) -> int:
    """OpenProcess(PROCESS_DUP_HANDLE, FALSE, pid): a handle of process
    *pid* to take handles out of."""
    handle = _dll('kernel32').OpenProcess(PROCESS_DUP_HANDLE, False, pid)
    if not handle:
        raise _fail('OpenProcess')
    return int(handle)


def duplicate_from(process: int, value: int) -> int:
    """DuplicateHandle(process, value, GetCurrentProcess(), &handle,
    SECTION_QUERY | SECTION_MAP_READ | SECTION_MAP_WRITE, FALSE, 0): this
    process's own new handle of what *value* names in *process*."""
    k32 = _dll('kernel32')
    handle = wintypes.HANDLE()
    if not k32.DuplicateHandle(
            ctypes.c_void_p(process), ctypes.c_void_p(value),
            ctypes.c_void_p(k32.GetCurrentProcess()), ctypes.byref(handle),
            SECTION_QUERY | SECTION_MAP_READ | SECTION_MAP_WRITE, False, 0):
        raise _fail('DuplicateHandle')
    return int(handle.value or 0)


def query_section(section: int) -> Tuple[int, int]:
    """NtQuerySection(section, SectionBasicInformation): the section's
    ``(AllocationAttributes, MaximumSize)``."""
    info = _SectionBasic()
    status = _dll('ntdll').NtQuerySection(
        ctypes.c_void_p(section), SECTION_BASIC_INFORMATION,
        ctypes.byref(info), ctypes.sizeof(info), None)
    if status:
        code = _dll('ntdll').RtlNtStatusToDosError(
            ctypes.c_ulong(status & 0xFFFFFFFF))
        raise _fail('NtQuerySection', int(code))
    return int(info.AllocationAttributes), int(info.MaximumSize)


def map_view(section: int, writable: bool, size: int) -> Memory:
    """MapViewOfFile(section, FILE_MAP_WRITE or FILE_MAP_READ, 0, 0, size):
    the first *size* bytes of the section, as :func:`view_at`; closing it
    unmaps it (UnmapViewOfFile)."""
    k32 = _dll('kernel32')
    address = k32.MapViewOfFile(
        ctypes.c_void_p(section),
        FILE_MAP_WRITE if writable else FILE_MAP_READ, 0, 0,
        ctypes.c_size_t(size))              # (SIZE_T: 64 bits on x64)
    if not address:
        raise _fail('MapViewOfFile')
    return view_at(int(address), size, writable,
                   lambda: k32.UnmapViewOfFile(ctypes.c_void_p(address)))


def view_at(address: int, size: int, writable: bool,
            unmap: Callable[[], Any]) -> Memory:
    """*size* bytes mapped at *address* as ring Memory: a memoryview
    (format 'B', read-only unless *writable*: a write through a read-only
    view would fault).  *unmap* runs once, when the last view of the
    memory is gone: at Memory.close if no other is alive, else when the
    caller drops the last view it took (as an mmap goes), never while one
    is in use.  Not at interpreter exit: the process's end unmaps then."""
    array = (ctypes.c_char * size).from_address(address)
    weakref.finalize(array, lambda: _ignore(unmap())).atexit = False
    view = memoryview(array).cast('B')
    return Memory(view if writable else view.toreadonly(), _unmapped_with_view)


def _unmapped_with_view() -> None:
    """(A view_at Memory's close: its finalizer unmaps.)"""


def _ignore(_: object) -> None:
    """(UnmapViewOfFile's result: a view that is mapped unmaps.)"""


def close_handle(handle: int) -> None:
    """CloseHandle(handle)."""
    if not _dll('kernel32').CloseHandle(ctypes.c_void_p(handle)):
        raise _fail('CloseHandle')
