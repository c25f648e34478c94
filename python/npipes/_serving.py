"""What the threaded and the asyncio Listener share, written once: the
connection options and limits they check, their counters, and the log
events (_log.py, .NET's names and ids) of what happens to a connection."""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, Iterator, Optional, Tuple, Union

from . import sharedmemory

from ._limits import DEFAULT_MAX_CONNECTIONS, accept_pauses
from ._log import error_type, event
from ._session import FRAME, IDLE, PEER_CLOSED
from ._util import positive_or_none
from .access import Entries, PeerIdentity, Policy, server_rule
from .consts import DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD
from .errors import ConnectionClosedError, FrameError, NPipesError
from .message import struct_prefix
from .sharedmemory import SharedMemory

__all__ = ['DEFAULT_MAX_CONNECTIONS', 'connection_options', 'server_policy',
           'Serving']

log = logging.getLogger('npipes')   # events: see _log.py


def connection_options(max_connections: int, *, crc: bool = False,
                       endian: str = DEFAULT_ENDIAN,
                       encoding: str = DEFAULT_ENCODING,
                       max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                       idle_timeout: Optional[float] = None,
                       frame_timeout: Optional[float] = None,
                       shared_memory: Union[SharedMemory, bool, None] = None
                       ) -> Dict[str, Any]:
    """The options every connection of a Listener gets, checked (a bad
    endian, limit or timeout is an error before the name is claimed)."""
    struct_prefix(endian)
    if not isinstance(max_connections, int) or max_connections < 1:
        raise ValueError(f'max_connections must be an int >= 1, got '
                         f'{max_connections!r}')
    return dict(crc=crc, endian=endian, encoding=encoding,
                max_payload=max_payload,
                idle_timeout=positive_or_none('idle_timeout', idle_timeout),
                frame_timeout=positive_or_none('frame_timeout', frame_timeout),
                shared_memory=sharedmemory.shared_memory(shared_memory))


def _peer_fields(peer: PeerIdentity) -> Tuple[int, int, Optional[str]]:
    """The log fields of .NET's events: pid, uid (-1 unknown), sid."""
    return peer.pid, -1 if peer.uid is None else peer.uid, peer.sid


def server_policy(allow_other_users: bool = False,
                  allow_users: Optional[Entries] = None,
                  allow_groups: Optional[Entries] = None,
                  allow_everyone: bool = False) -> Policy:
    """The transport Policy of a Listener from its access keywords
    (docs/access.md §3; ``allow_other_users=True`` is 0.2.0's shorthand
    for ``allow_everyone=True``)."""
    return Policy(allow=server_rule(allow_other_users, allow_users,
                                    allow_groups, allow_everyone))


class Serving:
    """A Listener's counters and log events (both Listeners inherit it)."""

    name: str
    address: str
    max_connections: int

    def _start_counting(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._refused = 0
        self._refused_peers = 0
        self._failed_accepts = 0
        self._pauses: Iterator[float] = accept_pauses()

    @property
    def active_connections(self) -> int:
        """Connections handed out and not yet closed."""
        return self._active

    @property
    def refused_connections(self) -> int:
        """Clients closed at once because max_connections were open."""
        return self._refused

    @property
    def failed_accepts(self) -> int:
        """Accepts that failed (the AcceptFailed log event, and on_error
        with no connection) and were retried after a pause: for example
        when the process ran out of file descriptors."""
        return self._failed_accepts

    @property
    def refused_peers(self) -> int:
        """Clients dropped unread because the access rule does not admit
        their user (docs/access.md §3)."""
        return self._refused_peers

    def _peer_refused(self, peer: PeerIdentity) -> None:
        """A client the access rule does not admit (docs/access.md §3),
        closed unread: counted and logged with who it was."""
        with self._lock:
            self._refused_peers += 1
        event('ConnectionRefused', "Connection refused on pipe '%s': %s "
              "(peer pid %s, uid %s, sid %s)", self.name, 'access',
              *_peer_fields(peer))

    def _admit(self) -> bool:
        """Count a client in (True), or as refused at max_connections."""
        with self._lock:
            admitted = self._active < self.max_connections
            if admitted:
                self._active += 1
            else:
                self._refused += 1
        if not admitted:
            event('ConnectionRefused', "Connection refused on pipe '%s': %s "
                  "(%d connections open)", self.name, 'limit',
                  self.max_connections)
        return admitted

    def _released(self) -> None:
        with self._lock:
            self._active -= 1

    def _accepted(self, peer: PeerIdentity) -> None:
        self._pauses = accept_pauses()     # the next failure waits 10 ms
        event('ConnectionAccepted', "Connection accepted on pipe '%s' "
              "(peer pid %s, uid %s, sid %s)", self.name, *_peer_fields(peer))

    def _ended(self, exc: Optional[BaseException]) -> bool:
        """Log why a handler's connection ended (*exc*: what the handler
        raised, None if it returned); True if *exc* is to be reported."""
        if exc is None:
            reason, report = 'LocalClose', False
        elif isinstance(exc, ConnectionClosedError):
            reason = {IDLE: 'IdleTimeout', FRAME: 'FrameTimeout'}.get(
                exc.reason, 'PeerClosed')
            report = exc.reason != PEER_CLOSED
        else:
            reason = 'ProtocolError' if isinstance(exc, NPipesError) \
                else 'HandlerError'
            report = True
        event('ConnectionClosed', "Connection on pipe '%s' closed: %s",
              self.name, reason)
        return report

    def _log_error(self, exc: BaseException) -> None:
        if isinstance(exc, FrameError):
            event('FrameError', "Frame error %s on pipe '%s': %s",
                  error_type(exc), self.name, exc)
        elif isinstance(exc, NPipesError):
            log.warning('%s: connection error: %s', self.address, exc)
        else:
            event('HandlerFailed', "The handler of a connection on pipe '%s' "
                  "threw; that connection is closed", self.name, exc_info=exc)

    def _accept_failed(self, exc: BaseException) -> float:
        """Count and log a failed accept; return the seconds to pause
        before accepting again (10 ms doubling to 1 s: the pending client
        stays queued, so retrying at once would spin).  The serving loop
        goes on: the connections already open are served meanwhile."""
        with self._lock:
            self._failed_accepts += 1
        event('AcceptFailed', "Accepting a client on pipe '%s' failed",
              self.name, exc_info=exc)
        return next(self._pauses)

    def _listening(self) -> None:
        event('ServerListening', "Listening on pipe '%s' (at most %d "
              "connections)", self.name, self.max_connections)

    def _stopped(self) -> None:
        event('ServerStopped', "Stopped serving pipe '%s'", self.name)
