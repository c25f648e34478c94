"""npipes' endpoints under asyncio: the parts common to both platforms.

The blocking endpoint steps (claim a name, connect, rendezvous: _unix.py and
_windows.py, not a line copied) run in a thread of their own whose deadline
is cut into SLICE-second waits, so that a cancelled coroutine stops it
within SLICE seconds.  The connected socket (Unix, _aio_unix.py) or
overlapped pipe handle (Windows, _aio_windows.py; transport.aio_endpoint()
picks one) is then handed to asyncio.
"""

from __future__ import annotations

import asyncio
import threading
from typing import (Any, Awaitable, Callable, Coroutine, Optional, Protocol,
                    TypeVar)

from ._util import Deadline
from .errors import NPipesError, PipeTimeoutError

__all__ = ['run_blocking', 'Acceptor', 'SLICE', 'READ_LIMIT']

#: The longest a blocking step runs on after its coroutine was cancelled.
SLICE = 0.1
#: StreamReader buffer limit: reads are at most one 64 KiB decoder chunk.
READ_LIMIT = 256 * 1024

_T = TypeVar('_T', bound='Closable')
_S = TypeVar('_S', covariant=True)


class Acceptor(Protocol[_S]):
    """The accept side of a transport Server for the running loop."""

    def accept(self, timeout: Optional[float]) -> Awaitable[_S]:
        """The next client's Stream (its peer already checked)."""

    def close(self) -> None:
        """Stop accepting; close the Server."""


class _Stopped(NPipesError):
    """The coroutine that waited for this step was cancelled."""


class _SlicedDeadline(Deadline):
    """A Deadline whose waits last at most SLICE seconds, and which stops
    the step (raises _Stopped) once *stop* is set."""

    __slots__ = ('_stop',)

    def __init__(self, timeout: Optional[float],
                 stop: threading.Event) -> None:
        super().__init__(timeout)
        self._stop = stop

    def remaining(self, what: str = 'operation') -> float:
        if self._stop.is_set():
            raise _Stopped(f'{what}: cancelled')
        left = super().remaining(what)
        return SLICE if left is None else min(left, SLICE)

    def expired(self) -> bool:
        try:
            Deadline.remaining(self)
        except PipeTimeoutError:
            return True
        return False


class Closable(Protocol):
    """What a blocking endpoint step returns: something to close."""

    def close(self) -> None: ...


def _dispose(value: Closable) -> None:
    try:
        value.close()
    except (NPipesError, OSError):
        pass


async def run_blocking(step: Callable[[Deadline], _T],
                       timeout: Optional[float]) -> _T:
    """Run ``step(deadline)`` in a new daemon thread and return its result.

    *timeout* (seconds, None: no limit) bounds it as it bounds the threaded
    API.  If the awaiting coroutine is cancelled the step stops within
    SLICE seconds, and what it produced meanwhile is closed.  On Windows a
    wait ended only by a slice raises PipeTimeoutError inside the step,
    which is then simply run again.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[_T] = loop.create_future()
    stop = threading.Event()

    def deliver(value: _T) -> None:
        if fut.done():                     # cancelled meanwhile
            _dispose(value)
        else:
            fut.set_result(value)

    def fail(exc: BaseException) -> None:
        if not fut.done():
            fut.set_exception(exc)

    def work() -> None:
        deadline = _SlicedDeadline(timeout, stop)
        try:
            while True:
                try:
                    value = step(deadline)
                    break
                except PipeTimeoutError:
                    if stop.is_set() or deadline.expired():
                        raise
        except BaseException as exc:       # noqa: B902 - handed to the loop
            try:
                loop.call_soon_threadsafe(fail, exc)
            except RuntimeError:           # the loop is closed
                pass
            return
        try:
            loop.call_soon_threadsafe(deliver, value)
        except RuntimeError:               # the loop is closed
            _dispose(value)

    threading.Thread(target=work, daemon=True,
                     name='npipes-aio-endpoint').start()
    try:
        return await fut
    finally:
        stop.set()


_B = TypeVar('_B', bound='Background')


class Background:
    """An asyncio server that may serve in the background (aio.Listener,
    aio.RpcServer): ``wait_closed``, ``aclose`` and ``async with``."""

    _serving: Optional[asyncio.Future[None]] = None

    def close(self) -> None:
        raise NotImplementedError

    def serve_in_background(self, serving: Coroutine[Any, Any, None]) -> None:
        """Run *serving* (this server's serve_forever) in a task that
        :meth:`wait_closed` waits for."""
        self._serving = asyncio.ensure_future(serving)

    async def wait_closed(self) -> None:
        """Wait for serve_forever (started in the background) to end."""
        if self._serving is not None:
            try:
                await self._serving
            except (asyncio.CancelledError, NPipesError):
                pass

    async def aclose(self) -> None:
        """Stop serving and wait for it to end."""
        self.close()
        await self.wait_closed()

    async def __aenter__(self: _B) -> _B:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
