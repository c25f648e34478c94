"""Small rules shared by every layer: deadlines, names, back-off, what an
endpoint stream can do beyond the basics (its shared memory among them),
and turning OSError into npipes' typed errors."""

from __future__ import annotations

import functools
import mmap
import socket
import time
from typing import (TYPE_CHECKING, Any, Callable, Iterator, NamedTuple,
                    Optional, Protocol, Sequence, Tuple, TypeVar, Union,
                    cast)

from ._limits import MAX_WAIT
from .consts import RESERVED_PIPE_NAME
from .errors import (ConnectionClosedError, NPipesError, PipeAccessError,
                     PipeNameError, PipeOSError, PipeTimeoutError)

if TYPE_CHECKING:
    from ._shmframe import Descriptor
    from ._shmring import Memory


_F = TypeVar('_F', bound=Callable[..., Any])
Buffer = Union[bytes, bytearray, memoryview]
#: Polling for a peer that is not there yet: 1 ms doubling up to 50 ms
#: (docs/unix-endpoint.md sections 7 and 8).
BACKOFF_FIRST = 0.001
BACKOFF_CAP = 0.05
_Number = TypeVar('_Number', int, float)


class _Readable(Protocol):
    def recv_into(self, view: memoryview, deadline: Deadline) -> int: ...


class RawIO(NamedTuple):
    """A connected socket's own blocking calls, for a call without a
    deadline: ``sendall(frame, flags)`` and ``recv_into(view) -> count``
    (OSError left to the caller to translate; see Capabilities.raw)."""

    sendall: Callable[[Union[bytes, bytearray, memoryview], int], None]
    flags: int
    recv_into: Callable[[memoryview], int]


class Capabilities(NamedTuple):
    """What an endpoint Stream can do beyond recv_into/send/finish/close
    (each None when it cannot), asked of ``Stream.capabilities()`` instead
    of the platform, as .NET's ITransportStream does."""

    #: Write one frame from its parts (header, payload, CRC field) without
    #: joining them (a Unix socket's gathering write).
    send_parts: Optional[Callable[[Sequence[Buffer], 'Deadline'], None]] = None
    #: The socket's own blocking calls, for calls without a deadline.
    raw: Optional[RawIO] = None
    #: Non-blocking I/O for one reader and one writer thread at once
    #: (npipes.rpc takes the stream over; Unix).
    duplex: Optional[Callable[[], 'Duplex']] = None
    #: The connected socket, handed to asyncio (Unix).
    socket: Optional[socket.socket] = None
    #: Give up the pipe handle (the Stream is closed without closing it),
    #: handed to asyncio's proactor (Windows).
    detach: Optional[Callable[[], int]] = None
    #: Large messages through shared memory (docs/shared-memory.md): makes
    #: the stream's ring port, which says whether files travel too
    #: (_unixshm.MemfdPort on Linux, _winshm.SectionPort on Windows).
    shared_memory: Optional[Callable[[], 'RingPort']] = None


class RingPort(Protocol):
    """A stream's shared memory, the ring (docs/shared-memory.md §8; on
    Windows a section, §9), as .NET's ISharedMemoryTransport: made, taken
    from the peer, announced.  *token*: what create_ring returns (the
    ring's file on Linux, its section handle on Windows)."""

    @property
    def files(self) -> Optional[FilePort]:
        """The files that travel beside the bytes (kind 1, the ring's file
        with its first slot's frame), or None where none can (§9: a
        payload the ring cannot take goes inline, the ring is announced
        by a kind-3 frame, reads are the stream's)."""

    def create_ring(self, capacity: int) -> Tuple[int, Memory]:
        """``(token, writable mapping)`` of a new ring: control page and
        *capacity* bytes."""

    def take_ring(self, found: Descriptor) -> Tuple[Memory, Memory, int]:
        """The peer's ring, checked and mapped: ``(control page writable,
        data region read-only, capacity)``: with files, the one the kind-2
        frame *found* brought (§8); without, the section the kind-3 frame
        *found* names (§9 steps 1-4).  Nothing left open if it fails."""

    def send_frame(self, frame: bytes, deadline: Deadline) -> None:
        """Send a descriptor frame that carries no file (blocking)."""

    def close_file(self, token: int) -> None:
        """Close a ring's *token*."""


class FilePort(Protocol):
    """Files beside a stream's bytes (§3, §4, §8; Linux), as .NET's
    ISharedFileTransport: every read collects the files that arrive with
    it, a descriptor frame claims one, a send can carry one.  *fd* is
    closed whatever happens, unless said otherwise."""

    def recv_into(self, view: memoryview) -> int:
        """Read (blocking); OSError is the caller's to translate."""

    def recv_until(self, view: memoryview, deadline: Deadline) -> int:
        """Read, or PipeTimeoutError at *deadline*; OSError translated."""

    def take_file(self) -> int:
        """The file of the descriptor frame just completed (§4.1)."""

    def no_file(self) -> None:
        """An ordinary frame completed: no file may have come with it."""

    def discard(self) -> None:
        """Close every queued file."""

    def close_file(self, fd: int) -> None:
        """Close a file this port handed out."""

    def map_file(self, fd: int, length: int) -> mmap.mmap:
        """*fd* checked (§4.3-4) and mapped read-only."""

    def create(self, length: int) -> Tuple[int, mmap.mmap]:
        """A file of *length* bytes and its writable mapping."""

    def write_file(self, payload: Buffer) -> int:
        """A file holding *payload*."""

    def send_file(self, fd: int, frame: bytes, deadline: Deadline) -> None:
        """Seal *fd*, send *frame* carrying it (blocking)."""

    def offer_file(self, fd: int, frame: bytes) -> int:
        """One non-blocking send of *frame* carrying *fd*, sealed first:
        the bytes sent, BlockingIOError if none; *fd* stays open."""

    def queue_empty(self) -> bool:
        """Whether the peer has read everything sent (§3.4)."""


class Duplex(Protocol):
    """One reader thread and one writer thread on a stream at once; only
    :meth:`shutdown` (or the peer leaving) ends a wait without a timeout."""

    def recv_into(self, view: memoryview, deadline: 'Deadline') -> int:
        """Read into *view* (0 at EOF); PipeTimeoutError at *deadline*."""

    def send_some(self, view: memoryview) -> memoryview:
        """Write what can be written now; return the rest."""

    def send(self, view: Buffer) -> None:
        """Write all of *view*, waiting for room."""

    def shutdown(self) -> None:
        """Wake a thread waiting in recv_into() or send(): both then fail."""


class Deadline:
    """A point in time computed from a timeout in seconds (None = never)."""

    __slots__ = ('timeout', '_end')

    def __init__(self, timeout: Optional[float] = None) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError(f'timeout must be >= 0 or None, got {timeout!r}')
        self.timeout = timeout
        self._end: Optional[float] = (None if timeout is None
                                      else time.monotonic() + timeout)

    def remaining(self, what: str = 'operation') -> Optional[float]:
        """Seconds left (None = unlimited); raise PipeTimeoutError if none."""
        if self._end is None:
            return None
        left = self._end - time.monotonic()
        if left <= 0:
            raise PipeTimeoutError(f'{what} timed out after {self.timeout} s')
        # A thread's wait takes at most MAX_WAIT (about 31 years; 49.7 days
        # on Windows): a longer one is waited in steps.
        return min(left, MAX_WAIT)

    def left(self) -> Optional[float]:
        """Seconds left, 0 once passed (None = unlimited); at most MAX_WAIT,
        as :meth:`remaining` (a wait of 1e10 s overflows the clock)."""
        end = self._end
        return None if end is None else \
            min(MAX_WAIT, max(0.0, end - time.monotonic()))

    def sleep(self, seconds: float, what: str = 'operation') -> None:
        """Sleep *seconds*, but not past the deadline (PipeTimeoutError if
        the deadline comes first)."""
        end = time.monotonic() + seconds
        while True:
            left = self.remaining(what)
            pause = end - time.monotonic()
            if pause <= 0:
                return
            time.sleep(pause if left is None else min(pause, left))


def positive_or_none(name: str,
                     value: Optional[_Number]) -> Optional[_Number]:
    """*value* if it is None or > 0 (a timeout option called *name*); else
    ValueError."""
    if value is not None and not value > 0:
        raise ValueError(f'{name} must be > 0 or None, got {value!r}')
    return value


def check_name(name: str) -> str:
    """Validate a pipe name: the rules shared by every platform and by the
    .NET library (docs/unix-endpoint.md, section 1).  Path length is
    checked by the platform module."""
    if not isinstance(name, str):
        raise PipeNameError(f'pipe name must be a str, got {type(name).__name__}')
    if not name:
        raise PipeNameError('pipe name must not be empty')
    try:
        name.encode('utf-8')
    except UnicodeEncodeError:
        raise PipeNameError(f'pipe name {name!r} is not valid Unicode (it '
                            f'holds a lone surrogate)') from None
    for bad, label in (('/', "'/'"), ('\\', "'\\\\'"), ('\0', 'NUL')):
        if bad in name:
            raise PipeNameError(f'pipe name {name!r} must not contain {label}')
    if name in ('.', '..'):
        raise PipeNameError(f'{name!r} is not a pipe name')
    # .NET compares with OrdinalIgnoreCase, which folds by upper case.
    if name.upper() == RESERVED_PIPE_NAME.upper():
        raise PipeNameError(f'pipe name {name!r} is reserved (by .NET: '
                            f"'{RESERVED_PIPE_NAME}' in any letter case)")
    return name


def delays() -> Iterator[float]:
    """The pauses between polling rounds: BACKOFF_FIRST doubling up to
    BACKOFF_CAP, forever (the blocking and the asyncio back-off)."""
    delay = BACKOFF_FIRST
    while True:
        yield delay
        delay = min(delay * 2, BACKOFF_CAP)


def backoff(deadline: Deadline, what: str = 'operation') -> Iterator[None]:
    """Yield forever, sleeping (:func:`delays`) between rounds; used while
    polling for a server that is not there yet.  *what* names the
    operation in the PipeTimeoutError raised at the deadline."""
    for delay in delays():
        yield
        deadline.sleep(delay, what)


def drain(stream: _Readable, deadline: Deadline) -> int:
    """Read and discard from *stream* until EOF; return the bytes discarded."""
    buf, total = memoryview(bytearray(65536)), 0
    while True:
        n = stream.recv_into(buf, deadline)
        if not n:
            return total
        total += n


_CLOSED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def typed_os_error(exc: OSError) -> NPipesError:
    """The npipes error to raise for *exc* (an OSError not raised by npipes)."""
    if isinstance(exc, NPipesError):
        return exc
    if isinstance(exc, (TimeoutError, socket.timeout)):   # distinct types before Python 3.10
        return PipeTimeoutError(f'timed out: {exc}')
    if isinstance(exc, _CLOSED):
        return ConnectionClosedError(f'peer closed the pipe ({exc.strerror or exc})')
    if isinstance(exc, PermissionError):
        return PipeAccessError(f'access refused: {exc}', path=exc.filename)
    return PipeOSError(exc.errno, exc.strerror or str(exc), exc.filename)


def typed_os_errors(func: _F) -> _F:
    """Decorator: an OSError escaping *func* leaves as a typed npipes error."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OSError as exc:
            if isinstance(exc, NPipesError):
                raise
            raise typed_os_error(exc) from exc
    return cast(_F, wrapper)
