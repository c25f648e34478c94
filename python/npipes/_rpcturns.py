"""Whose turn it is to read a threaded RPC client's connection when its
callers read their own replies (no reader thread: a ping-pong call is
written and answered on the caller's thread, with no thread switch).

One caller reads at a time, taking every message that comes (other
callers' replies too: their Call is answered); the others wait on their
Call.  When the reader's own reply is in it hands the turn on by waking
one waiting caller, which reads next unless its answer came meanwhile.
"""

from __future__ import annotations

import threading
from typing import List, Optional

from ._rpcio import Call

__all__ = ['ReadTurns']


class ReadTurns:
    """The read turn of one connection among its callers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free = threading.Condition(self._lock)
        self._reading = self._kept = False
        self._waiting: List[Call] = []     # callers waiting for the turn

    def take(self, call: Optional[Call] = None) -> bool:
        """True: the turn is the caller's (give it back with
        :meth:`give_back`); else *call*, if given, waits for it
        (:meth:`leave` once done)."""
        with self._lock:
            if not self._reading:
                self._reading = True
                return True
            if call is not None and call not in self._waiting:
                self._waiting.append(call)
            return False

    def give_back(self) -> None:
        """The reader stops reading: a waiting caller gets the turn."""
        with self._lock:
            self._reading = False
            self._free.notify_all()
            self._pass_on()

    def keep(self, timeout: float) -> bool:
        """Take the turn for good once it is free (False: not within
        *timeout*): the socket can then be closed under nobody's read."""
        with self._lock:
            if self._kept:
                return False
            self._free.wait_for(lambda: not self._reading, timeout)
            if self._reading:
                return False
            self._reading = self._kept = True
            return True

    def leave(self, call: Call) -> None:
        """*call* no longer waits (answered, or its caller gave up)."""
        with self._lock:
            if call in self._waiting:
                self._waiting.remove(call)
            if not self._reading:
                self._pass_on()

    def _pass_on(self) -> None:
        if self._waiting:
            self._waiting.pop(0).wake()
