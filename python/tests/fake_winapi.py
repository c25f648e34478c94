"""An in-memory stand-in for the parts of ``_winapi`` npipes uses.

It models Windows named pipes closely enough to run npipes/_windows.py on
any OS: message-type pipes (one WriteFile = one message, a short ReadFile
returns ERROR_MORE_DATA and leaves the rest queued), instances and
max_instances, FILE_FLAG_FIRST_PIPE_INSTANCE, ERROR_PIPE_BUSY and
WaitNamedPipe, overlapped operations with events, timeouts and cancel,
ERROR_BROKEN_PIPE after the peer closes.  It is a model, not Windows: the
real thing is only exercised on Windows.
"""

import itertools
import threading
import time
from collections import deque

INFINITE = 0xFFFFFFFF
NULL = 0
PIPE_ACCESS_DUPLEX = 0x3
FILE_FLAG_OVERLAPPED = 0x40000000
FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000
PIPE_TYPE_MESSAGE = 0x4
PIPE_READMODE_MESSAGE = 0x2
PIPE_WAIT = 0x0
PIPE_UNLIMITED_INSTANCES = 255
GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
OPEN_EXISTING = 3
WAIT_OBJECT_0 = 0
WAIT_TIMEOUT = 258

ERROR_FILE_NOT_FOUND = 2
ERROR_ACCESS_DENIED = 5
ERROR_BROKEN_PIPE = 109
ERROR_SEM_TIMEOUT = 121
ERROR_PIPE_BUSY = 231
ERROR_NO_DATA = 232
ERROR_MORE_DATA = 234
ERROR_PIPE_CONNECTED = 535
ERROR_OPERATION_ABORTED = 995
ERROR_IO_PENDING = 997

_cv = threading.Condition()
_pipes = {}                     # path -> list of _Instance
_handles = {}                   # handle -> _End
_next_handle = itertools.count(100)
calls = []                      # (function name, args) log for assertions


def _error(code, base=OSError):
    exc = base(f'[WinError {code}] (fake)')
    exc.winerror = code
    return exc


class _End:
    def __init__(self, instance, side):
        self.instance, self.side, self.closed = instance, side, False
        self.inbox = deque()             # messages for this end
        self.offset = 0                  # read position in inbox[0]

    @property
    def peer(self):
        i = self.instance
        return i.client if self.side == 'server' else i.server


class _Instance:
    def __init__(self, path, max_instances):
        self.path, self.max_instances = path, max_instances
        self.server = _End(self, 'server')
        self.client = None               # _End once a client connected


def _new_handle(end):
    h = next(_next_handle)
    _handles[h] = end
    return h


def _wait_until(pred, ms):
    end = None if ms == INFINITE else time.monotonic() + ms / 1000
    while not pred():
        left = None if end is None else end - time.monotonic()
        if left is not None and left <= 0:
            return False
        _cv.wait(left)
    return True


class Overlapped:
    """An overlapped operation; ``event`` is the operation itself."""

    def __init__(self, try_complete):
        self._try = try_complete         # () -> (n, err, data) or None
        self.result = None
        self.event = self

    def _poll(self):
        if self.result is None:
            self.result = self._try()
        return self.result is not None

    def cancel(self):
        with _cv:
            if self.result is None:
                self.result = (0, ERROR_OPERATION_ABORTED, b'')
            _cv.notify_all()

    def GetOverlappedResult(self, wait):
        with _cv:
            if wait:
                _wait_until(self._poll, INFINITE)
            elif not self._poll():
                raise _error(996)        # ERROR_IO_INCOMPLETE
        n, err, _ = self.result
        # As CPython's _winapi: any other error (ERROR_BROKEN_PIPE too) raises.
        if err not in (0, ERROR_MORE_DATA, ERROR_OPERATION_ABORTED):
            raise _error(err)
        return n, err

    def getbuffer(self):
        return self.result[2]


def WaitForMultipleObjects(events, wait_all, ms):
    assert len(events) == 1 and not wait_all
    with _cv:
        return WAIT_OBJECT_0 if _wait_until(events[0]._poll, ms) \
            else WAIT_TIMEOUT


def CreateNamedPipe(path, open_mode, pipe_mode, max_instances, out_size,
                    in_size, default_timeout, security):
    calls.append(('CreateNamedPipe', (path, open_mode, pipe_mode,
                                      max_instances, out_size, in_size)))
    with _cv:
        live = _pipes.setdefault(path, [])
        if live and open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE:
            raise _error(ERROR_ACCESS_DENIED, PermissionError)
        if live and len(live) >= live[0].max_instances:
            raise _error(ERROR_PIPE_BUSY)
        inst = _Instance(path, max_instances)
        live.append(inst)
        _cv.notify_all()
        return _new_handle(inst.server)


def ConnectNamedPipe(handle, overlapped=False):
    assert overlapped
    end = _handles[handle]
    inst = end.instance

    def done():
        if end.closed:
            return 0, ERROR_OPERATION_ABORTED, b''
        return (0, 0, b'') if inst.client is not None else None
    with _cv:
        if inst.client is not None and inst.client.closed:
            raise _error(ERROR_NO_DATA, BrokenPipeError)
        return Overlapped(done)


def _listening(path):
    return [i for i in _pipes.get(path, ()) if i.client is None
            and not i.server.closed]


def CreateFile(path, access, share, security, disposition, flags, template):
    with _cv:
        if not _pipes.get(path):
            raise _error(ERROR_FILE_NOT_FOUND, FileNotFoundError)
        free = _listening(path)
        if not free:
            raise _error(ERROR_PIPE_BUSY)
        inst = free[0]
        inst.client = _End(inst, 'client')
        _cv.notify_all()
        return _new_handle(inst.client)


def WaitNamedPipe(path, ms):
    with _cv:
        if not _pipes.get(path):
            raise _error(ERROR_FILE_NOT_FOUND, FileNotFoundError)
        if not _wait_until(lambda: _listening(path) or not _pipes.get(path),
                           ms):
            raise _error(ERROR_SEM_TIMEOUT, TimeoutError)
        if not _pipes.get(path):
            raise _error(ERROR_FILE_NOT_FOUND, FileNotFoundError)


def SetNamedPipeHandleState(handle, mode, max_collection, timeout):
    assert mode == PIPE_READMODE_MESSAGE
    calls.append(('SetNamedPipeHandleState', (mode,)))


def ReadFile(handle, size, overlapped=False):
    assert overlapped
    end = _handles[handle]

    def take():
        if end.closed:
            return 0, ERROR_OPERATION_ABORTED, b''
        if end.inbox:
            msg = end.inbox[0]
            chunk = msg[end.offset:end.offset + size]
            end.offset += len(chunk)
            if end.offset < len(msg):
                return len(chunk), ERROR_MORE_DATA, chunk
            end.inbox.popleft()
            end.offset = 0
            return len(chunk), 0, chunk
        peer = end.peer
        if peer is None or peer.closed:
            return 0, ERROR_BROKEN_PIPE, b''
        return None
    with _cv:
        ov = Overlapped(take)
        if ov._poll():
            n, err, _ = ov.result
            if err == ERROR_BROKEN_PIPE:
                raise _error(ERROR_BROKEN_PIPE, BrokenPipeError)
            return ov, err
        return ov, ERROR_IO_PENDING


def WriteFile(handle, data, overlapped=False):
    assert overlapped
    end = _handles[handle]
    calls.append(('WriteFile', len(data)))
    with _cv:
        peer = end.peer
        if peer is None or peer.closed:
            raise _error(ERROR_NO_DATA, BrokenPipeError)
        peer.inbox.append(bytes(data))
        _cv.notify_all()
        ov = Overlapped(lambda: (len(data), 0, b''))
        ov._poll()
        return ov, 0


def CloseHandle(handle):
    with _cv:
        end = _handles.pop(handle)
        end.closed = True
        inst = end.instance
        if end.side == 'server':        # the instance leaves the namespace
            live = _pipes.get(inst.path, [])
            if inst in live:
                live.remove(inst)
            if not live:
                _pipes.pop(inst.path, None)
        _cv.notify_all()
