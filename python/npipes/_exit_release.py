"""Servers still open when the interpreter exits release their socket file.

A README-style server left to normal interpreter shutdown (the end of the
script, ``sys.exit``, an uncaught exception) closes as ``close()`` would:
the socket file is unlinked only if it is still the one this server made
(docs/unix-endpoint.md §9), as .NET's listener does on ProcessExit.  Servers
are held weakly: tracking one keeps no forgotten server alive.
"""

from __future__ import annotations

import atexit
import weakref
from typing import Protocol


class _Closable(Protocol):
    def close(self) -> None: ...


_open: 'weakref.WeakSet[_Closable]' = weakref.WeakSet()


def track(server: _Closable) -> None:
    """Close *server* at interpreter exit if it is still open then."""
    _open.add(server)


def forget(server: _Closable) -> None:
    """*server* closed: nothing left to do at exit."""
    _open.discard(server)


@atexit.register
def _close_all() -> None:
    for server in list(_open):
        try:
            server.close()
        except Exception:   # noqa: BLE001 - exiting: nothing left to tell
            pass
