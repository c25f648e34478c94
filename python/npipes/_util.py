"""Small helpers shared by the platform transports: deadlines, names."""

import time

from .consts import RESERVED_PIPE_NAME
from .errors import PipeNameError, PipeTimeoutError


class Deadline:
    """A point in time computed from a timeout in seconds (None = never)."""

    __slots__ = ('timeout', '_end')

    def __init__(self, timeout=None):
        if timeout is not None and timeout < 0:
            raise ValueError(f'timeout must be >= 0 or None, got {timeout!r}')
        self.timeout = timeout
        self._end = None if timeout is None else time.monotonic() + timeout

    def remaining(self, what='operation'):
        """Seconds left (None = unlimited); raise PipeTimeoutError if none."""
        if self._end is None:
            return None
        left = self._end - time.monotonic()
        if left <= 0:
            raise PipeTimeoutError(f'{what} timed out after {self.timeout} s')
        return left

    def sleep(self, seconds):
        """Sleep *seconds*, but not past the deadline (for retry back-off)."""
        left = self.remaining()
        time.sleep(seconds if left is None else min(seconds, left))


def check_name(name):
    """Validate a pipe name (rules common to every platform)."""
    if not isinstance(name, str):
        raise PipeNameError(f'pipe name must be a str, got {type(name).__name__}')
    if not name:
        raise PipeNameError('pipe name must not be empty')
    for bad, label in (('/', "'/'"), ('\\', "'\\\\'"), ('\0', 'NUL')):
        if bad in name:
            raise PipeNameError(f'pipe name {name!r} must not contain {label}')
    if name == RESERVED_PIPE_NAME:
        raise PipeNameError(f'pipe name {name!r} is reserved (by .NET)')
    return name


def backoff(deadline, first=0.002, cap=0.05):
    """Yield forever, sleeping (exponentially longer, up to *cap*) between
    rounds; used while polling for a server that is not there yet."""
    delay = first
    while True:
        yield
        deadline.sleep(delay)
        delay = min(delay * 2, cap)


def drain(stream, deadline):
    """Read and discard from *stream* until EOF; return the bytes discarded."""
    buf, total = memoryview(bytearray(65536)), 0
    while True:
        n = stream.recv_into(buf, deadline)
        if not n:
            return total
        total += n
