"""A Wine-backed ``_overlapped``: what asyncio's proactor loop needs for pipes.

asyncio.windows_events (ProactorEventLoop, IocpProactor) drives overlapped
ReadFile/WriteFile through an I/O completion port.  Here the port is a queue
in this process; each pipe operation is started in winapi_helper.exe (the
real overlapped ReadFile/WriteFile of winapi_proxy) and a watcher thread
waits for its completion there (GetOverlappedResult(wait), one helper thread
per operation in flight), then posts it to the port, as Windows posts every
operation started on a handle bound to a port.  The loop's self-pipe is a
Linux socket pair: WSARecv on it is a watcher that waits for the socket.

Only the names IocpProactor uses for pipes exist; any other raises
AttributeError and is recorded in winapi_proxy.MISSING (the lane fails).
Semantics follow CPython's Modules/overlapped.c (ReadFile raises
BrokenPipeError at once for ERROR_BROKEN_PIPE; getresult() treats
ERROR_BROKEN_PIPE of a read as end of file and raises for other errors).
"""

import itertools
import os
import queue
import select
import threading
from typing import Any, Dict, Optional, Tuple

import winapi_proxy
from winapi_proxy import call, windows_error

NULL = 0
INFINITE = 0xFFFFFFFF
INVALID_HANDLE_VALUE = (1 << 64) - 1
ERROR_IO_PENDING = 997
ERROR_IO_INCOMPLETE = 996
ERROR_MORE_DATA = 234
ERROR_BROKEN_PIPE = 109
ERROR_NETNAME_DELETED = 64
ERROR_OPERATION_ABORTED = 995
ERROR_PIPE_BUSY = 231
SO_UPDATE_ACCEPT_CONTEXT = 0x700B
SO_UPDATE_CONNECT_CONTEXT = 0x7010

_ports: Dict[int, 'queue.Queue[Tuple[int, int, int, int]]'] = {}
_bound: Dict[int, Tuple[int, int]] = {}          # handle or fd -> (port, key)
_port_ids = itertools.count(0x7F000000, 4)        # far above Wine's handle values
_addresses = itertools.count(0x10000, 16)


def CreateIoCompletionPort(handle: int, port: int, key: int, concurrency: int) -> int:
    """A new port (handle INVALID_HANDLE_VALUE), or bind *handle* to *port*."""
    if handle == INVALID_HANDLE_VALUE:
        port = next(_port_ids)
        _ports[port] = queue.Queue()
        winapi_proxy.LOCAL_HANDLES[port] = lambda: _ports.pop(port, None)
        return port
    _bound[handle] = (port, key)
    return port


def GetQueuedCompletionStatus(port: int, msecs: int) -> Optional[Tuple[int, int, int, int]]:
    """``(error, transferred, key, address)``, or None when *msecs* pass."""
    try:
        return _ports[port].get(timeout=None if msecs == INFINITE else msecs / 1000)
    except queue.Empty:
        return None


class Overlapped:
    """One overlapped operation (``_overlapped.Overlapped``)."""

    def __init__(self, event: int = INVALID_HANDLE_VALUE) -> None:
        self.address = next(_addresses)
        self.event = 0
        self.pending = False
        self._lock = threading.Lock()
        self._result: Optional[Tuple[int, int, Optional[bytes]]] = None   # n, err, data
        self._ov: Optional[winapi_proxy.Overlapped] = None
        self._reading = False
        self._into: Any = None
        self._cancelled = threading.Event()
        self._port: Tuple[Optional[int], int] = (None, 0)

    # -- pipes: the real operation runs in the helper
    def ReadFile(self, handle: int, size: int) -> None:
        self._start(handle, winapi_proxy.ReadFile, size, reading=True)

    def ReadFileInto(self, handle: int, buf: Any) -> None:
        self._into = buf
        self._start(handle, winapi_proxy.ReadFile, len(memoryview(buf)), reading=True)

    def WriteFile(self, handle: int, buf: Any) -> None:
        self._start(handle, winapi_proxy.WriteFile, bytes(buf), reading=False)

    def _start(self, handle: int, op: Any, arg: Any, reading: bool) -> None:
        self._reading = reading
        ov, err = op(handle, arg, overlapped=True)     # raises as overlapped.c does
        self._ov = ov
        self.event = ov.event
        self.pending = err == ERROR_IO_PENDING
        self._watch(handle, self._wait_pipe)

    def _wait_pipe(self) -> Tuple[int, int, Optional[bytes]]:
        assert self._ov is not None
        try:
            n, err = self._ov.GetOverlappedResult(True)
        except OSError as exc:
            return 0, exc.winerror, None
        except winapi_proxy.HelperDied:          # the run is ending
            return 0, ERROR_OPERATION_ABORTED, None
        return n, err, self._ov.getbuffer() if self._reading else None

    # -- the loop's self-pipe (a Linux socket)
    def WSARecv(self, fd: int, size: int, flags: int = 0) -> None:
        self._reading = True
        self.pending = True

        own = os.dup(fd)         # the loop may close fd (and reuse its number) meanwhile

        def wait() -> Tuple[int, int, Optional[bytes]]:
            try:
                while not self._cancelled.is_set():
                    if select.select([own], [], [], 0.05)[0]:
                        if self._cancelled.is_set():     # (the loop closes it next)
                            break
                        try:
                            data = os.read(own, size)
                        except BlockingIOError:
                            continue
                        return len(data), 0, data
                return 0, ERROR_OPERATION_ABORTED, None
            except OSError:
                return 0, ERROR_NETNAME_DELETED, None
            finally:
                os.close(own)
        self._watch(fd, wait)

    def _watch(self, handle: int, wait: Any) -> None:
        self._port = _bound.get(handle, (None, 0))
        threading.Thread(target=lambda: self._complete(wait()), name='overlapped-watch',
                         daemon=True).start()

    def _complete(self, result: Tuple[int, int, Optional[bytes]]) -> None:
        """Record the result and post it to the port: once."""
        with self._lock:
            if self._result is not None:
                return
            self._result = result
            self.pending = False
        port, key = self._port
        if port is not None and port in _ports:
            _ports[port].put((result[1] if result[1] not in (0, ERROR_MORE_DATA) else 0,
                              result[0], key, self.address))

    def cancel(self) -> None:
        self._cancelled.set()
        if self._ov is None:          # a socket read: aborted now, as CancelIoEx would
            self._complete((0, ERROR_OPERATION_ABORTED, None))
        elif self.pending:
            self._ov.cancel()

    def getresult(self, wait: bool = False) -> Any:
        with self._lock:
            result = self._result
        if result is None:
            if self._ov is None:
                raise windows_error(ERROR_IO_INCOMPLETE)
            try:
                n, err = self._ov.GetOverlappedResult(bool(wait))
            except OSError as exc:
                n, err = 0, exc.winerror
            if err == ERROR_IO_INCOMPLETE:
                raise windows_error(err)
            result = (n, err, self._ov.getbuffer() if self._reading and err in (0, ERROR_MORE_DATA)
                      else None)
        n, err, data = result
        if err not in (0, ERROR_MORE_DATA) and not (err == ERROR_BROKEN_PIPE and self._reading):
            raise windows_error(err)
        if not self._reading:
            return n
        data = data or b''
        if self._into is not None:
            memoryview(self._into)[:len(data)] = data
            return len(data)
        return data


def __getattr__(name: str) -> Any:
    if name.startswith('__'):
        raise AttributeError(name)
    winapi_proxy.MISSING.append(f'_overlapped.{name}')
    raise AttributeError(f'_overlapped.{name} is not provided by the Wine-backed proxy '
                         f'(python/tests/wine/overlapped_proxy.py)')
