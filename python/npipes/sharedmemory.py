"""Large messages through shared memory (docs/shared-memory.md): the
option, and the two buffers that let a caller write and read a message in
place.

Both peers opt in (``shared_memory=True`` or a :class:`SharedMemory` on
Connection, connect, Listener, IPC and their asyncio twins); a payload of
at least ``min_payload`` bytes then travels through shared memory, the pipe
carrying only a small descriptor frame: a slot of the connection's ring
(one per connection and direction, reused: a memfd on Linux, an unnamed
section on Windows that the receiver duplicates out of the sender's
process) or, when larger than the ring, on Linux a sealed memfd of its own
handed over by the kernel (on Windows such a payload goes inline).  Linux
and Windows: opting in elsewhere (macOS) raises SharedMemoryError when the
connection is made.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from .errors import NPipesError

__all__ = ['SharedMemory', 'ReceivedBuffer', 'OutgoingMessage',
           'AsyncOutgoingMessage',
           'DEFAULT_MIN_PAYLOAD', 'DEFAULT_MAX_IN_FLIGHT', 'shared_memory']

#: Payloads of at least this many bytes go through shared memory (§1).
DEFAULT_MIN_PAYLOAD = 65536
#: The sender's in-flight budget in bytes (§3.4): 64 MiB.
DEFAULT_MAX_IN_FLIGHT = 64 * 1024 * 1024


@dataclass(frozen=True)
class SharedMemory:
    """The shared-memory option of one side (docs/shared-memory.md §1).

    ``min_payload``: a payload of at least this many bytes (>= 1) is sent
    through shared memory, a smaller one inline.  ``max_in_flight``: bytes
    sent through shared memory that the peer may not yet have read before
    a send waits for it to read (§3.4; >= 1), rounded up to a multiple of
    4096 (at most 1 GiB) the size of the ring (§8).  The two need not agree with
    the peer's.  A side with shared memory on receives both kinds of frame.
    """

    min_payload: int = DEFAULT_MIN_PAYLOAD
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT

    def __post_init__(self) -> None:
        for name in ('min_payload', 'max_in_flight'):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) \
                    or value < 1:
                raise ValueError(f'SharedMemory.{name} must be an int >= 1, '
                                 f'got {value!r}')


def shared_memory(option: Union[SharedMemory, bool, None]
                  ) -> Optional[SharedMemory]:
    """The ``shared_memory=`` argument made a SharedMemory or None (off):
    True means the defaults, False and None off."""
    if option is None or option is False:
        return None
    if option is True:
        return SharedMemory()
    if isinstance(option, SharedMemory):
        return option
    raise TypeError(f'shared_memory must be a SharedMemory, True, False or '
                    f'None, got {option!r}')


class ReceivedBuffer:
    """One received payload, read in place (``Connection.recv_buffer``).

    ``view`` is a read-only memoryview of it: of the sealed shared-memory
    mapping for a message that came in a file of its own (no copy), else
    of the bytes received inline or copied out of the connection's ring
    (docs/shared-memory.md §8: the ring is not sealed, so the receiver
    keeps only its own copy).  :meth:`release` (or leaving the ``with`` block)
    releases the view and unmaps the memory; every view taken from
    ``view`` (a slice, say) must be released first, else BufferError.
    """

    __slots__ = ('_view', '_mapping', '_shared')

    def __init__(self, data: Union[bytes, mmap.mmap],
                 shared: bool = False) -> None:
        self._mapping = data if isinstance(data, mmap.mmap) else None
        self._shared = shared or self._mapping is not None
        self._view: Optional[memoryview] = memoryview(data)

    @property
    def view(self) -> memoryview:
        """The payload, read-only (ValueError once released)."""
        if self._view is None:
            raise ValueError('ReceivedBuffer was released')
        return self._view

    @property
    def shared(self) -> bool:
        """Whether the payload came through shared memory (its own file,
        or the ring)."""
        return self._shared

    def __len__(self) -> int:
        return len(self.view)

    def tobytes(self) -> bytes:
        """A copy of the payload."""
        return self.view.tobytes()

    def release(self) -> None:
        """Release the view and unmap the memory (again: nothing)."""
        view, self._view = self._view, None
        if view is not None:
            view.release()
        mapping, self._mapping = self._mapping, None
        if mapping is not None:
            mapping.close()

    def __enter__(self) -> ReceivedBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class _Outgoing:
    """What both OutgoingMessage kinds are, short of sending."""

    __slots__ = ('_buffer', '_send', '_abandon')

    def __init__(self, buffer: memoryview,
                 send: Callable[[Optional[float]], Any],
                 abandon: Callable[[], None]) -> None:
        self._buffer: Optional[memoryview] = buffer
        self._send = send
        self._abandon = abandon

    @property
    def buffer(self) -> memoryview:
        """Where to write the message (ValueError once sent or abandoned)."""
        if self._buffer is None:
            raise ValueError('OutgoingMessage was already sent or abandoned')
        return self._buffer

    def __len__(self) -> int:
        return len(self.buffer)

    def _take(self) -> memoryview:
        buffer = self.buffer
        self._buffer = None
        return buffer

    def abandon(self) -> None:
        """Send nothing and free the memory (again: nothing)."""
        if self._buffer is not None:
            self._take().release()
            self._abandon()

    def __exit__(self, *exc: object) -> None:
        self.abandon()


class OutgoingMessage(_Outgoing):
    """A message of a fixed length written in place, then sent
    (``Connection.create_message``; docs/shared-memory.md §6).

    ``buffer`` is a writable memoryview of the message when its length
    reaches the connection's threshold: of a slot of the connection's ring
    (§8), or (Linux) of a memfd's mapping for a message larger than the
    ring (the bytes written there are sealed and handed over as they
    are); else of ordinary memory sent inline.  Never copied by the sender.  :meth:`send` sends it, once;
    leaving a ``with`` block without sending abandons it (nothing is sent).
    Views taken from ``buffer`` must be released before :meth:`send`.
    """

    __slots__ = ()

    def send(self, timeout: Optional[float] = None) -> None:
        """Send the message (once; its buffer is no longer usable)."""
        self._take().release()
        self._send(timeout)

    def __enter__(self) -> OutgoingMessage:
        return self


class AsyncOutgoingMessage(_Outgoing):
    """:class:`OutgoingMessage` of an asyncio Connection
    (``npipes.aio.Connection.create_message``): ``await send()``."""

    __slots__ = ()

    async def send(self, timeout: Optional[float] = None) -> None:
        """Send the message (once; its buffer is no longer usable)."""
        self._take().release()
        await self._send(timeout)

    def __enter__(self) -> AsyncOutgoingMessage:
        return self
