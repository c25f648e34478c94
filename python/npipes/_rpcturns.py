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
        self._reading = False
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
            self._pass_on()

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
