"""Limits the operating system sets, and the rules that keep a server and a
timeout inside them (docs/reliability.md, section 6; the same rules as the
.NET library's DescriptorLimit and PipeServer accept loop).

* Each accepted connection holds one file descriptor: the default connection
  limit leaves headroom under the process's open-file limit.
* An accept that fails (EMFILE/ENFILE, a client gone mid-handshake) is
  retried after a pause of 10 ms doubling to 1 s.
* One wait of the OS is bounded (poll() takes at most 2**31 - 1 ms, a
  thread's wait at most threading.TIMEOUT_MAX): a longer timeout is waited
  in steps, the caller's loop waiting again until its deadline.
"""

from __future__ import annotations

import importlib
import math
import threading
from typing import Any, Iterator, Optional

__all__ = ['DEFAULT_MAX_CONNECTIONS', 'max_connections_for', 'open_files',
           'accept_pauses', 'MAX_WAIT', 'MAX_SECONDS', 'poll_ms']

#: The default connection limit where the platform sets no open-file limit
#: (Windows), and the most it ever is.
MAX_DEFAULT_CONNECTIONS = 1024

#: The first pause after a failed accept, and the longest (seconds).
ACCEPT_PAUSE_FIRST = 0.01
ACCEPT_PAUSE_MAX = 1.0

#: The longest single wait handed to a thread primitive (seconds, about 31
#: years; 49.7 days on Windows): a longer timeout is waited in steps.  Not
#: threading.TIMEOUT_MAX itself: now + that overflows the clock's time_t.
MAX_WAIT = min(float(threading.TIMEOUT_MAX), 1e9)

#: The longest single poll() (milliseconds: a C int).
_MAX_POLL_MS = 2**31 - 1


def open_files() -> Optional[int]:
    """The process's soft open-file limit (RLIMIT_NOFILE) now; None on
    Windows, when unlimited, or when it cannot be read."""
    try:        # typed as Any: the module does not exist on Windows
        resource: Any = importlib.import_module('resource')
    except ImportError:                    # Windows: no such limit
        return None
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else int(soft)


def max_connections_for(limit: Optional[int]) -> int:
    """The default connection limit under an open-file limit of *limit*:
    min(1024, limit - max(128, limit // 4)), at least 1; 1024 for None.
    768 under the common 1,024, 128 under 256."""
    if limit is None:
        return MAX_DEFAULT_CONNECTIONS
    return max(1, min(MAX_DEFAULT_CONNECTIONS, limit - max(128, limit // 4)))


#: The default ``max_connections`` of every server, read when npipes is
#: imported (as .NET reads it when its options are made).
DEFAULT_MAX_CONNECTIONS = max_connections_for(open_files())


def accept_pauses() -> Iterator[float]:
    """The pauses between failed accepts: 10 ms doubling to 1 s, forever
    (start a new iterator after an accept succeeds)."""
    pause = ACCEPT_PAUSE_FIRST
    while True:
        yield pause
        pause = min(pause * 2, ACCEPT_PAUSE_MAX)


def poll_ms(timeout: Optional[float]) -> Optional[int]:
    """*timeout* seconds as poll()'s milliseconds (None: forever), rounded
    up, and at most poll's own limit (about 24.8 days: the caller, which
    loops until its deadline, then waits again)."""
    if timeout is None:
        return None
    return min(_MAX_POLL_MS, max(0, math.ceil(timeout * 1000)))


#: The longest time option the CLIs take (seconds, about 3,170 years): every
#: value from 0 to this is honoured; a larger one is a usage error.
MAX_SECONDS = 1e11
