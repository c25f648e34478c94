"""Sending JSON-RPC messages in order from many threads (threaded engine).

A message is written at once by the thread that posts it when nothing is
queued and the kernel takes it whole (no thread switch: what a ping-pong
needs); otherwise the writer thread sends it.  So a caller never blocks on
a peer that stops reading: it waits only, up to its deadline, while
OUTBOX_LIMIT bytes are queued.  A call's request not yet taken by a writer
can be withdrawn (its caller timed out): it is then never sent.
"""

from __future__ import annotations

import collections
import threading
from typing import Callable, Deque, Optional, Protocol, Tuple

from ._rpcio import FrameIO
from ._util import Deadline
from .errors import NPipesError

__all__ = ['Outbox', 'OUTBOX_LIMIT', 'Tracked']

#: Bytes of frames queued for the writer before posters wait for room (one
#: frame is always let in, however large).
OUTBOX_LIMIT = 32 * 1024 * 1024


class Tracked(Protocol):
    """A call whose request the Outbox sends: the Outbox sets ``sent`` when
    a writer takes the request, and reads ``withdrawn`` (set by
    :meth:`Outbox.withdraw`) to skip it."""

    sent: bool
    withdrawn: bool


class Outbox:
    """The send side of one connection.

    *io* is a _rpcio.FrameIO; *on_failure(exc)* is called once
    if a write fails (the connection is then lost); *on_exit()* when the
    writer thread ends; *closed_error()* builds the error a post gets after
    :meth:`close`.  Items are ``(frame, call)``: *call* (or None) has the
    attributes ``sent`` and ``withdrawn``.
    """

    def __init__(self, io: FrameIO,
                 on_failure: Callable[[NPipesError], object],
                 on_exit: Callable[[], object],
                 closed_error: Callable[[], BaseException],
                 label: str) -> None:
        self._io = io
        self._on_failure = on_failure
        self._on_exit = on_exit
        self._closed_error = closed_error
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._has_room = threading.Condition(self._lock)
        self._queue: Deque[Tuple[memoryview, Optional[Tracked]]] = \
            collections.deque()
        self._bytes = 0
        self._writing = False          # a thread is writing a frame now
        self._closed = False
        self._flush = False            # send what is queued, then stop
        self._thread = threading.Thread(target=self._write_loop, daemon=True,
                                        name=f'npipes-rpc-writer {label}')
        self._thread.start()

    def post(self, data: bytes, call: Optional[Tracked] = None,
             deadline: Optional[Deadline] = None,
             force: bool = False) -> None:
        """Send one message after those posted before it.  Waits (up to
        *deadline*, a _util.Deadline) while OUTBOX_LIMIT bytes are queued,
        unless *force*."""
        frame = memoryview(self._io.encode(data))
        with self._lock:
            while not force and not self._closed and self._queue and \
                    self._bytes + len(frame) > OUTBOX_LIMIT:
                left = None if deadline is None else deadline.remaining('send')
                self._has_room.wait(left)
            if self._closed:
                raise self._closed_error()
            if not (self._io.direct and not self._queue and not self._writing):
                self._queue.append((frame, call))
                self._bytes += len(frame)
                self._has_work.notify()
                return
            self._writing = True
            if call is not None:
                call.sent = True
        try:
            rest: Optional[memoryview] = self._io.send_some(frame)
        except NPipesError as exc:
            rest = None
            self._on_failure(exc)
        with self._lock:
            self._writing = False
            if rest:                   # the writer sends the rest, first
                self._queue.appendleft((rest, None))
                self._bytes += len(rest)
            if self._queue:
                self._has_work.notify()

    def withdraw(self, call: Tracked) -> bool:
        """Give up *call*'s request: True if no writer has taken it (it
        will never be sent), False if the peer may have it."""
        with self._lock:
            call.withdrawn = not call.sent
            return call.withdrawn

    def _write_loop(self) -> None:
        try:
            while True:
                with self._lock:
                    while (not self._queue or self._writing) and \
                            not self._closed:
                        self._has_work.wait()
                    if self._closed and not (self._flush and self._queue):
                        return
                    if self._writing:      # a poster is finishing a write
                        self._has_work.wait()
                        continue
                    frame, call = self._queue.popleft()
                    self._bytes -= len(frame)
                    self._has_room.notify_all()
                    if call is not None:
                        if call.withdrawn:
                            continue
                        call.sent = True
                    self._writing = True
                try:
                    self._io.send(frame)
                except NPipesError as exc:
                    self._on_failure(exc)
                    return
                finally:
                    with self._lock:
                        self._writing = False
        finally:
            self._on_exit()

    def close(self, flush: bool = False) -> None:
        """Refuse new messages; the writer sends what is queued first if
        *flush*, then stops."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._flush = flush
            self._has_work.notify_all()
            self._has_room.notify_all()

    def join(self, timeout: Optional[float]) -> None:
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
