"""Whether an asyncio request spins briefly for its reply, as .NET's Linux
receive does (src/NPipes/Transport/Linux/LinuxSocketIO.Receive.cs and
SpareCore.cs: the same limit, backoff and load rule).

A reply from another process usually arrives within tens of microseconds
of the request.  Parking on the event loop until then costs two loop turns
and a wake-up, which made the asyncio client about half as fast as the
threaded one (bench/python py_aio_requests_10k); trying the receive again
for at most SPIN_LIMIT seconds catches the reply instead.  The spin blocks
the loop for no longer than that, and only when it is likely to pay: on
more than one core, while the one-minute load average is under twice the
core count (a spin waiting for a peer that wants the same cores only
delays it), and, once spins keep giving up (a server that does not answer
at once), only every PROBE_EVERY-th time.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Optional, Tuple, Type, TypeVar, Union

__all__ = ['SPIN_LIMIT', 'Spinner', 'spare_core']

#: The longest a request spins before it parks on the loop (seconds).
SPIN_LIMIT = 40e-6
#: After this many spins in a row that gave up, only every PROBE_EVERY-th
#: request spins.
MISSES_BEFORE_BACKOFF = 4
PROBE_EVERY = 8
#: How often the load average is read again (seconds).
_SAMPLE = 0.1
_CORES = os.cpu_count() or 1
_quiet = [False, 0.0]          # the last answer, and when to ask again

T = TypeVar('T')


#: os.getloadavg where there is one (not on Windows, nor a SocketChannel).
_GETLOADAVG = getattr(os, 'getloadavg', None)


def _load() -> float:
    """The one-minute load average (OSError if it cannot be read)."""
    if _GETLOADAVG is None:
        raise OSError('no load average here')
    return float(_GETLOADAVG()[0])


def spare_core() -> bool:
    """More than one core and a one-minute load average under twice the
    core count (read at most every 0.1 s; False where it cannot be read)."""
    now = time.monotonic()
    if now >= _quiet[1]:
        try:
            quiet = _CORES > 1 and _load() < 2 * _CORES
        except OSError:
            quiet = False
        _quiet[0], _quiet[1] = quiet, now + _SAMPLE
    return bool(_quiet[0])


class Spinner:
    """One connection's spin state (its misses in a row)."""

    __slots__ = ('_misses', '_since', 'always')

    def __init__(self) -> None:
        self._misses = 0
        self._since = 0
        #: Spin whenever asked, whatever the rules above (tests).
        self.always = False

    def worth_it(self) -> bool:
        """Whether this wait should spin first."""
        if self.always:
            return True
        if self._misses >= MISSES_BEFORE_BACKOFF:
            self._since += 1
            if self._since < PROBE_EVERY:
                return False
        self._since = 0
        return spare_core()

    def spin(self, attempt: Callable[[], T],
             again: Union[Type[BaseException], Tuple[Type[BaseException], ...]]
             ) -> Tuple[bool, Optional[T]]:
        """*attempt()* repeated while it raises *again*, for at most
        SPIN_LIMIT seconds: (True, its result), or (False, None) when the
        time ran out."""
        end = time.perf_counter() + SPIN_LIMIT
        while True:
            try:
                result = attempt()
            except again:
                if time.perf_counter() < end:
                    continue
                self._misses += 1
                return False, None
            self._misses = 0
            return True, result
