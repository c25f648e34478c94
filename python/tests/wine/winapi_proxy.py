"""A Wine-backed ``_winapi``: every call runs in winapi_helper.exe under Wine.

Installed as ``sys.modules['_winapi']`` by tests/wine/bootstrap.py, it lets
npipes/_windows.py run unchanged on Linux CPython against REAL Windows named
pipes (Wine's), in the same wineserver as the .NET programs of the Wine lane.

It offers exactly the ``_winapi`` names npipes uses, with _winapi's
semantics (read from CPython's Modules/_winapi.c): which errors raise
OSError (``winerror`` set, errno and subclass as on Windows) and which come
back as a result code (ERROR_IO_PENDING, ERROR_MORE_DATA), Overlapped with
``event``, ``GetOverlappedResult``, ``cancel`` and ``getbuffer``.  Any other
name raises AttributeError naming this file, and is recorded in MISSING
(the lane fails if it is not empty), so a new call cannot slip in untested.

Set NPIPES_WINAPI_TRACE=1 to print every call and reply on stderr.

Handles, events and OVERLAPPED structures live in the helper; here they are
plain integers.  The wire is described in winapi_helper.c.  Adding a call
(e.g. a ctypes kernel32/advapi32 call of the access-control work): a handler
and a CALLS[] row there, and a function here calling ``call('Name', ...)``
with ints, bytes, str (sent as UTF-16LE + NUL) or None; it gets back the
reply's values, or OSError when the helper set its raise flag.
"""

import collections
import errno
import os
import struct
import subprocess
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple

# --- constants: the values of CPython's _winapi (and winbase.h), by name
ERROR_ALREADY_EXISTS = 183
ERROR_BROKEN_PIPE = 109
ERROR_IO_PENDING = 997
ERROR_MORE_DATA = 234
ERROR_NETNAME_DELETED = 64
ERROR_NO_DATA = 232
ERROR_NO_SYSTEM_RESOURCES = 1450
ERROR_OPERATION_ABORTED = 995
ERROR_PIPE_BUSY = 231
ERROR_PIPE_CONNECTED = 535
ERROR_SEM_TIMEOUT = 121
FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000
FILE_FLAG_OVERLAPPED = 0x40000000
GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
INFINITE = 0xFFFFFFFF
NMPWAIT_WAIT_FOREVER = 0xFFFFFFFF
NULL = 0
OPEN_EXISTING = 3
PIPE_ACCESS_DUPLEX = 0x3
PIPE_ACCESS_INBOUND = 0x1
PIPE_READMODE_MESSAGE = 0x2
PIPE_TYPE_MESSAGE = 0x4
PIPE_UNLIMITED_INSTANCES = 255
PIPE_WAIT = 0x0
WAIT_ABANDONED_0 = 0x80
WAIT_OBJECT_0 = 0
WAIT_TIMEOUT = 258

#: Names asked of this module that it does not provide (the lane fails on any).
MISSING: List[str] = []
#: Handles that live in this process (overlapped_proxy's completion ports):
#: value -> what CloseHandle does with it.
LOCAL_HANDLES: Dict[int, Any] = {}
#: (call, args) of the calls whose shape tests check, as tests/fake_winapi.py logs them.
calls: List[Tuple[str, Any]] = []

# winerror -> errno for the codes a pipe call returns (CPython's PC/errmap.h);
# OSError(errno, ...) then picks the subclass Windows' Python would raise.
_ERRNO = {2: errno.ENOENT, 3: errno.ENOENT, 5: errno.EACCES, 6: errno.EBADF,
          109: errno.EPIPE, 230: errno.EPIPE, 232: errno.EPIPE}
_MESSAGES = {2: 'The system cannot find the file specified',
             5: 'Access is denied', 6: 'The handle is invalid',
             109: 'The pipe has been ended', 121: 'The semaphore timeout period has expired',
             231: 'All pipe instances are busy', 232: 'The pipe is being closed',
             233: 'No process is on the other end of the pipe',
             995: 'The I/O operation has been aborted'}


def windows_error(code: int) -> OSError:
    """The OSError _winapi raises for *code* (winerror set)."""
    exc = OSError(_ERRNO.get(code, errno.EINVAL),
                  f'[WinError {code}] {_MESSAGES.get(code, "Windows error")}')
    exc.winerror = code      # type: ignore[attr-defined]
    return exc


class HelperDied(RuntimeError):
    """winapi_helper.exe ended (or could not start)."""


def _encode(value: Any) -> bytes:
    if value is None:
        return b'n'
    if isinstance(value, bool) or isinstance(value, int):
        return b'i' + struct.pack('<q', int(value) - (1 << 64) if value >= 1 << 63 else int(value))
    if isinstance(value, str):
        value = (value + '\0').encode('utf-16-le')
    data = bytes(value)
    return b'b' + struct.pack('<I', len(data)) + data


def _decode(body: memoryview) -> List[Any]:
    out: List[Any] = []
    i = 0
    while i < len(body):
        tag = body[i]
        if tag == ord('i'):
            out.append(struct.unpack_from('<q', body, i + 1)[0])
            i += 9
        elif tag == ord('b'):
            (n,) = struct.unpack_from('<I', body, i + 1)
            out.append(bytes(body[i + 5:i + 5 + n]))
            i += 5 + n
        elif tag == ord('n'):
            out.append(None)
            i += 1
        else:
            raise HelperDied(f'bad value tag {tag!r} in a helper reply')
    return out


class Helper:
    """The helper process and the calls in flight to it (any thread)."""

    def __init__(self, argv: List[str], env: Optional[Dict[str, str]] = None) -> None:
        # Standard error to /dev/null: the wineserver and Wine's service
        # processes started with the first program inherit it and outlive
        # us, and would hold a caller's output pipe open.
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env=env)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in, self._out = self._proc.stdin, self._proc.stdout
        ready = self._out.readline()
        if not ready.startswith(b'npipes-winapi-helper 1'):
            self._proc.kill()
            raise HelperDied(f'winapi helper did not start (said {ready!r}); '
                             f'exit code {self._proc.wait()}')
        self._lock = threading.Lock()         # sending, and the tables below
        self._next = 1
        self._waiting: Dict[int, List[Any]] = {}   # id -> [lock, reply]
        self._dead: Optional[str] = None
        self._frees: 'collections.deque[int]' = collections.deque()
        self.pid = 0
        self.linux_pid = 0
        threading.Thread(target=self._read, name='winapi-helper-reader', daemon=True).start()

    def _read(self) -> None:
        why = 'winapi helper closed its output'
        try:
            while True:
                head = self._out.read(4)
                if len(head) < 4:
                    break
                (n,) = struct.unpack('<I', head)
                body = self._out.read(n)
                if len(body) < n:
                    break
                (cid,) = struct.unpack_from('<I', body)
                with self._lock:
                    slot = self._waiting.pop(cid)
                slot[1] = body
                slot[0].release()
        except Exception as exc:            # noqa: BLE001 - reported to every caller
            why = f'winapi helper reader failed: {exc!r}'
        with self._lock:
            self._dead = why
            slots, self._waiting = list(self._waiting.values()), {}
        for slot in slots:
            slot[0].release()

    def free(self, ovid: int) -> None:
        """Free an Overlapped of the helper (sent with the next call)."""
        self._frees.append(ovid)

    def call(self, name: str, *args: Any) -> List[Any]:
        """Run *name* in the helper; its values, or OSError if it raised."""
        done = threading.Lock()
        done.acquire()
        slot: List[Any] = [done, None]
        args_data = b''.join(_encode(a) for a in args)
        op = name.encode('ascii')
        with self._lock:
            if self._dead:
                raise HelperDied(self._dead)
            cid = self._next
            self._next = self._next % 0xFFFFFFFF + 1
            self._waiting[cid] = slot
            frees = []
            while self._frees:
                frees.append(self._frees.popleft())
            msg = b''
            if frees:
                free_body = (struct.pack('<IB', 0, 7) + b'ov_free'
                             + b''.join(_encode(f) for f in frees))
                msg = struct.pack('<I', len(free_body)) + free_body
            body = struct.pack('<IB', cid, len(op)) + op + args_data
            try:
                self._in.write(msg + struct.pack('<I', len(body)) + body)
                self._in.flush()
            except OSError as exc:
                self._waiting.pop(cid, None)
                raise HelperDied(f'winapi helper is gone: {exc}') from None
        if _TRACE:
            print(f'winapi> {threading.current_thread().name} {name}{args!r:.120}', file=sys.stderr)
        done.acquire()
        reply = slot[1]
        if _TRACE:
            print(f'winapi< {threading.current_thread().name} {name} {bytes(reply or b"")[4:]!r:.120}', file=sys.stderr)
        if reply is None:
            raise HelperDied(self._dead or 'winapi helper ended')
        _, raise_, err = struct.unpack_from('<III', reply)
        if raise_:
            raise windows_error(err)
        return _decode(memoryview(reply)[12:])

    def close(self) -> None:
        """End the helper (closing its input ends it) and wait for it."""
        try:
            self._in.close()
        except OSError:
            pass
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


_helper: Optional[Helper] = None
_TRACE = bool(os.environ.get('NPIPES_WINAPI_TRACE'))


def start(argv: List[str], env: Optional[Dict[str, str]] = None) -> Helper:
    """Start the helper (``argv``: e.g. ``['wine', 'winapi_helper.exe']``)."""
    global _helper
    if _helper is None:
        _helper = Helper(argv, env)
        _helper.pid = _helper.call('GetCurrentProcessId')[0]
        _helper.linux_pid = _helper._proc.pid
    return _helper


def helper_pid() -> int:
    """The helper's Windows process id: the pid a pipe peer sees for us."""
    if _helper is None:
        raise HelperDied('winapi_proxy.start() was not called')
    return _helper.pid


def helper_linux_pid() -> int:
    """The helper's Linux process id (Wine runs it in the process it was
    started as): where /proc shows its mappings."""
    if _helper is None:
        raise HelperDied('winapi_helper.exe is not started')
    return _helper.linux_pid


def stop() -> None:
    global _helper
    helper, _helper = _helper, None
    if helper is not None:
        helper.close()


def call(name: str, *args: Any) -> List[Any]:
    """One call in the helper (started by start())."""
    if _helper is None:
        raise HelperDied('winapi_proxy.start() was not called')
    return _helper.call(name, *args)


class Overlapped:
    """_winapi.Overlapped: an OVERLAPPED of the helper and its event."""

    def __init__(self, ovid: int, event: int, reading: bool) -> None:
        self._id, self._event, self._reading = ovid, event, reading
        self._completed = False
        self._data: Optional[bytes] = None
        self._helper = _helper

    @property
    def event(self) -> int:
        return self._event

    def GetOverlappedResult(self, wait: bool) -> Tuple[int, int]:
        values = call('ov_result', self._id, bool(wait))
        n, err = values[0], values[1]
        if err in (0, ERROR_MORE_DATA, ERROR_OPERATION_ABORTED):
            self._completed = True
            if self._reading:
                self._data = values[2]
        return n, err

    def getbuffer(self) -> Optional[bytes]:
        if not self._completed:
            raise ValueError("can't get read buffer before GetOverlappedResult() "
                             "signals the operation completed")
        return self._data

    def cancel(self) -> None:
        call('ov_cancel', self._id)

    def __del__(self) -> None:
        if self._helper is not None:
            self._helper.free(self._id)


def _handle(value: Any) -> int:
    if not isinstance(value, int):      # as _winapi: a handle must be an int
        raise TypeError(f'a handle is required (got {type(value).__name__})')
    return value


def CreateNamedPipe(name: str, open_mode: int, pipe_mode: int, max_instances: int,
                    out_buffer_size: int, in_buffer_size: int, default_timeout: int,
                    security_attributes: int) -> int:
    if security_attributes:
        raise NotImplementedError('winapi_proxy: CreateNamedPipe with security attributes')
    handle = call('CreateNamedPipe', name, open_mode, pipe_mode, max_instances,
                  out_buffer_size, in_buffer_size, default_timeout, 0)[0]
    # Logged once created: two real threads racing to create leave one log.
    calls.append(('CreateNamedPipe', (name, open_mode, pipe_mode, max_instances,
                                      out_buffer_size, in_buffer_size)))
    return handle


def ConnectNamedPipe(handle: int, overlapped: bool = False) -> Optional[Overlapped]:
    values = call('ConnectNamedPipe', _handle(handle), bool(overlapped))
    return Overlapped(values[0], values[1], False) if overlapped else None


def CreateFile(file_name: str, desired_access: int, share_mode: int,
               security_attributes: int, creation_disposition: int,
               flags_and_attributes: int, template_file: int) -> int:
    if security_attributes:
        raise NotImplementedError('winapi_proxy: CreateFile with security attributes')
    return call('CreateFile', file_name, desired_access, share_mode, 0,
                creation_disposition, flags_and_attributes, template_file)[0]


def WaitNamedPipe(name: str, timeout: int) -> None:
    call('WaitNamedPipe', name, timeout)


def SetNamedPipeHandleState(named_pipe: int, mode: Optional[int],
                            max_collection_count: Optional[int],
                            collect_data_timeout: Optional[int]) -> None:
    calls.append(('SetNamedPipeHandleState', (mode,)))
    call('SetNamedPipeHandleState', _handle(named_pipe), mode, max_collection_count,
         collect_data_timeout)


def ReadFile(handle: int, size: int, overlapped: bool = False) -> Tuple[Any, int]:
    values = call('ReadFile', _handle(handle), size, bool(overlapped))
    if overlapped:
        return Overlapped(values[0], values[1], True), values[2]
    return values[0], values[1]


def WriteFile(handle: int, buffer: Any, overlapped: bool = False) -> Tuple[Any, int]:
    data = bytes(buffer)
    calls.append(('WriteFile', len(data)))
    values = call('WriteFile', _handle(handle), data, bool(overlapped))
    if overlapped:
        return Overlapped(values[0], values[1], False), values[2]
    return values[0], values[1]


def WaitForMultipleObjects(handle_seq: Any, wait_flag: bool,
                           milliseconds: int = INFINITE) -> int:
    handles = [_handle(h) for h in handle_seq]
    if not 0 < len(handles) <= 63:
        raise ValueError('need at most 63 handles')
    return call('WaitForMultipleObjects', bool(wait_flag), milliseconds, *handles)[0]


def CloseHandle(handle: int) -> None:
    local = LOCAL_HANDLES.pop(handle, None)
    if local is not None:
        local()
        return
    call('CloseHandle', _handle(handle))


def __getattr__(name: str) -> Any:
    if name.startswith('__'):            # import machinery, copy, pickle...
        raise AttributeError(name)
    MISSING.append(name)
    raise AttributeError(f'_winapi.{name} is not provided by the Wine-backed proxy '
                         f'(python/tests/wine/winapi_proxy.py): add it there and to '
                         f'winapi_helper.c, with a test')
