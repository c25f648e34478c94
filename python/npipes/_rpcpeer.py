"""The threaded JSON-RPC engine over one connection (either end).

Threads: one reader (matches responses to calls by id, dispatches requests),
the Outbox's writer (_rpcoutbox.py: messages in order, a caller's timeout
holds even when the peer stops reading), and a bounded pool for the
functions.  Every wait ends when the connection ends: _end() fails the
pending calls, sets the running requests' cancel tokens and shuts the
socket down.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
import logging
import threading
import time
from typing import Dict, Optional, Tuple

from . import _jsonrpc as rpc
from ._jsonrpc import Body, Id, JsonValue, OutParams
from ._rpcdispatch import (DEFAULT_MAX_QUEUED, DEFAULT_MAX_WORKERS, Dispatch,
                           check_limits, idle_left, no_answer)
from ._rpcio import frame_io
from ._rpcoutbox import Outbox
from ._rpctargets import Registry, Target, Token
from ._session import IDLE
from ._util import Deadline
from .connection import Connection
from .errors import ConnectionClosedError, NPipesError, PipeTimeoutError

log = logging.getLogger('npipes')

#: How long an ending connection waits for its own threads.
JOIN_BOUND = 10.0


class _Call:
    __slots__ = ('method', 'done', 'body', 'error', 'sent', 'withdrawn')

    def __init__(self, method: str) -> None:
        self.method = method
        self.done = threading.Event()
        self.body: Optional[Body] = None
        self.error: Optional[BaseException] = None
        self.sent = False          # taken by the writer: the peer may have it
        self.withdrawn = False     # timed out before the writer took it

    def result(self) -> JsonValue:
        """The answer (once ``done``): its result, or raise its error."""
        if self.error is not None:
            raise self.error
        if self.body is None:
            raise AssertionError('npipes internal error: a call was done '
                                 'with neither an answer nor an error')
        result, error = rpc.outcome(self.body)
        if error is not None:
            raise error
        return result


class Peer:
    """JSON-RPC on one Connection: outgoing calls and incoming requests."""

    def __init__(self, conn: Connection, registry: Registry, *,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 max_queued: int = DEFAULT_MAX_QUEUED,
                 label: str = 'rpc') -> None:
        check_limits(max_workers, max_queued)
        # The engine enforces the connection's idle and frame timeouts
        # itself (a connection waiting for a long call is not idle): it
        # reads the stream through its own FrameIO, never conn.recv.
        self._io = frame_io(conn)
        self.idle_timeout = conn.idle_timeout
        self.frame_timeout = conn.frame_timeout
        self.max_payload = conn.max_payload
        self.label = label
        self._rules = Dispatch(registry, label, conn.max_payload, False)
        self._max_workers = max_workers
        self._limit = max_workers + max_queued
        self._lock = threading.Lock()
        self._has_slot = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._pending: Dict[Id, _Call] = {}    # our calls
        # their running requests (a request's id may be null)
        self._inbound: Dict[Optional[Id], Token] = {}
        self._running = 0            # dispatched functions not finished
        # what ended the connection
        self._closing: Optional[BaseException] = None
        self._pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._users = 2              # reader and writer: the last closes
        self._last_activity = time.monotonic()
        self._reader: Optional[threading.Thread] = None
        self._outbox = Outbox(self._io, self._end, self._release,
                              self._closed_error, label)

    # -- calls out ---------------------------------------------------------
    def start_reader(self) -> None:
        self._reader = threading.Thread(target=self.run_reader, daemon=True,
                                        name=f'npipes-rpc-reader {self.label}')
        self._reader.start()

    def call(self, method: str, params: OutParams,
             timeout: Optional[float]) -> JsonValue:
        deadline = Deadline(timeout)
        call = _Call(method)
        with self._lock:
            self._check_open()
            id = next(self._ids)
            self._pending[id] = call
        try:
            self._post(self._sized(rpc.request(id, method, params)), call,
                       deadline)
            try:
                left = deadline.remaining()
            except PipeTimeoutError:
                left = 0.0
            answered = call.done.wait(left)
        except BaseException:
            self._give_up(id, call)
            raise
        if not answered:
            if self._give_up(id, call):
                raise no_answer(method, timeout)
            call.done.wait()           # being answered (or failed) right now
        return call.result()

    def _give_up(self, id: int, call: _Call) -> bool:
        """A call's caller stopped waiting: forget it, and cancel it at the
        peer if it was sent (StreamJsonRpc's $/cancelRequest).  False if
        its answer (or the connection's end) got to it first."""
        with self._lock:
            if self._pending.pop(id, None) is None:
                return False
        if not self._outbox.withdraw(call):
            try:
                self._post(rpc.request(None, rpc.CANCEL_METHOD, {'id': id}),
                           force=True)
            except NPipesError:
                pass                    # the connection is gone anyway
        return True

    def notify(self, method: str, params: OutParams,
               timeout: Optional[float] = None) -> None:
        self._post(self._sized(rpc.request(None, method, params)),
                   deadline=Deadline(timeout))

    def _sized(self, data: bytes) -> bytes:
        return self._rules.sized(data)

    # -- sending -------------------------------------------------------------
    def _closed_error(self) -> ConnectionClosedError:
        return rpc.closed_error(self._closing)

    def _check_open(self) -> None:
        if self._closing is not None:
            raise self._closed_error()

    def _post(self, data: bytes, call: Optional[_Call] = None,
              deadline: Optional[Deadline] = None,
              force: bool = False) -> None:
        self._outbox.post(data, call, deadline, force)

    # -- the reader ----------------------------------------------------------
    def run_reader(self) -> Optional[BaseException]:
        """Read until the connection ends; return what ended it."""
        ended: Optional[BaseException] = None
        clock = self._io.clock
        try:
            while True:
                idle: Optional[float] = None
                if self.idle_timeout is not None:
                    with self._lock:
                        busy = bool(self._running or self._pending)
                        last = self._last_activity
                    idle = idle_left(self.idle_timeout, busy, last,
                                     time.monotonic())
                limit, reason = clock.limit(None, idle)
                try:
                    payload = self._io.recv(
                        None if limit is None else max(limit, 0.0))
                except PipeTimeoutError:
                    if reason is None:     # no limit: recv() never times out
                        raise
                    if reason == IDLE and not self._idle():
                        continue
                    raise clock.expired(reason) from None
                with self._lock:
                    self._last_activity = time.monotonic()
                self._handle(payload)
        except NPipesError as exc:
            ended = exc
        except BaseException as exc:       # a bug here must not hang callers
            log.error('%s: RPC reader failed', self.label, exc_info=exc)
            ended = exc
        finally:
            self._end(ended if ended is not None else
                      ConnectionClosedError('reader stopped'))
            self._release()
        return ended

    def _idle(self) -> bool:
        """No call running or waiting for its answer, and none for
        idle_timeout seconds: a call that ended while the reader waited
        (its answer perhaps not posted yet) starts the count again."""
        idle = self.idle_timeout
        with self._lock:
            if idle is None or self._running or self._pending:
                return False
            return time.monotonic() - self._last_activity >= idle

    def _handle(self, payload: bytes) -> None:
        route = self._rules.route(payload)
        if route.reply is not None:
            self._post(route.reply)
        elif route.response is not None:
            msg = route.response
            with self._lock:
                call = self._pending.pop(msg.id, None) \
                    if msg.id is not None else None
            if call is None:
                self._rules.unknown(msg)
                return
            call.body = msg.body
            call.done.set()
        elif route.cancel is not None:
            with self._lock:
                token = self._inbound.get(route.cancel[0])
            if token is not None:
                token.set()
        elif route.call is not None:
            self._dispatch(*route.call)

    def _dispatch(self, msg: rpc.Call, target: Target,
                  args: Tuple[object, ...], kwargs: Dict[str, object],
                  token: Token) -> None:
        with self._lock:
            # Backpressure: at the limit the reader stops reading.
            while self._running >= self._limit and self._closing is None:
                self._has_slot.wait()
            if self._closing is not None:
                return
            duplicate = msg.kind == 'request' and msg.id in self._inbound
            if not duplicate:
                if msg.kind == 'request':
                    self._inbound[msg.id] = token
                self._running += 1
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        self._max_workers, thread_name_prefix='npipes-rpc')
                pool = self._pool
        if duplicate:
            self._post(self._rules.duplicate(msg.id))
            return
        try:
            pool.submit(self._run, msg, target, args, kwargs, token)
        except RuntimeError:                # shut down while ending
            self._finished(msg, token)

    def _run(self, msg: rpc.Call, target: Target, args: Tuple[object, ...],
             kwargs: Dict[str, object], token: Token) -> None:
        reply: Optional[bytes] = None
        try:
            if self._closing is not None:
                return
            result = target.func(*args, **kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            reply = self._rules.answer(msg, result)
        except BaseException as exc:
            reply = self._rules.failed(msg, exc)
        finally:
            self._finished(msg, token)
        if reply is not None:
            try:
                self._post(reply)
            except NPipesError:
                pass                       # the caller is gone

    def _finished(self, msg: rpc.Call, token: Token) -> None:
        with self._lock:
            self._running -= 1
            if msg.kind == 'request' and self._inbound.get(msg.id) is token:
                del self._inbound[msg.id]
            self._last_activity = time.monotonic()
            self._has_slot.notify()

    # -- the end ---------------------------------------------------------------
    def _end(self, cause: BaseException, graceful: bool = False) -> bool:
        """Record *cause*; fail every pending call; cancel running requests;
        unless *graceful*, shut the socket down (waking both threads)."""
        with self._lock:
            if self._closing is not None:
                return False
            self._closing = cause
            calls = list(self._pending.values())
            self._pending.clear()
            tokens = list(self._inbound.values())
            self._has_slot.notify_all()
        self._outbox.close(flush=graceful)
        for token in tokens:
            token.set()
        for call in calls:
            call.error = rpc.lost_error(cause, call.method)
            call.done.set()
        if not graceful:
            self._io.shutdown()
        pool = self._pool
        if pool is not None:
            pool.shutdown(wait=False)
        return True

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if last:                # nobody uses the socket any more: close it
            self._io.close()

    def close(self, flush_timeout: float = 5.0) -> None:
        """End the connection from this side: what is queued is sent (for at
        most *flush_timeout* seconds), pending calls fail."""
        self._end(ConnectionClosedError('connection closed by this side',
                                        reason='closed'), graceful=True)
        self._outbox.join(flush_timeout)
        self._io.shutdown()
        self._outbox.join(JOIN_BOUND)
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(JOIN_BOUND)

    def abort(self, cause: BaseException) -> None:
        self._end(cause)

    def join_writer(self) -> None:
        self._outbox.join(JOIN_BOUND)

    @property
    def closed(self) -> bool:
        return self._closing is not None
