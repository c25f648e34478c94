"""The threaded driver of the JSON-RPC engine (_rpcdispatch) on one
connection: a reader thread, the Outbox's writer (_rpcio) and a pool for
the functions.  Every wait ends when the connection ends (_end).

A client that serves nothing and has no idle timeout has no reader
thread: its callers read (_rpcturns), and ``closed`` reads what has come
(docs/rpc.md §6)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import time
from typing import Optional

from . import _jsonrpc as rpc
from ._jsonrpc import JsonValue, OutParams
from ._rpcdispatch import (DEFAULT_MAX_QUEUED, DEFAULT_MAX_WORKERS, Engine,
                           Job, no_answer)
from ._rpcio import Call, FrameIO, Outbox
from ._rpctargets import Registry
from ._rpcturns import ReadTurns
from ._rpcworkers import Workers
from ._session import IDLE, closed_here
from ._util import Deadline
from .connection import Connection
from .errors import NPipesError, PipeTimeoutError

#: How long an ending connection waits for its own threads.
JOIN_BOUND = 10.0
# What is still queued gets this long at close once a call of ours went
# unanswered: a peer that does not answer may not read either, and a
# timeout bounds the whole operation, close included (docs/reliability.md).
GAVE_UP_FLUSH = 0.1
_NOW = Deadline(0)


class Peer:
    """JSON-RPC on one Connection: outgoing calls and incoming requests."""

    def __init__(self, conn: Connection, registry: Registry, *,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 max_queued: int = DEFAULT_MAX_QUEUED,
                 label: str = 'rpc', caller_reads: bool = False) -> None:
        # The idle and frame timeouts are the engine's (a connection waiting
        # for a long call is not idle): it reads through its own FrameIO.
        self._engine = engine = Engine[Call](
            registry, label, conn.max_payload, conn.idle_timeout,
            max_workers, max_queued, False, time.monotonic())
        self._io = FrameIO(conn)
        self.label = label
        self._room = threading.Condition(threading.Lock())
        self._pool = Workers[Job](self._run, max_workers, 'npipes-rpc')
        #: No reader thread: callers read (a client serving nothing, with
        #: no idle rule to keep: nothing comes unasked but to be dropped).
        self._turns: Optional[ReadTurns] = ReadTurns() if caller_reads and \
            registry.serves_nothing and conn.idle_timeout is None else None
        # The reader (or the callers) and the writer use the socket: the
        # last one closes it (callers let go at close(), see there).
        self._users = 2
        self._gave_up = False        # a call of ours timed out unanswered
        self._reader: Optional[threading.Thread] = None
        self._outbox = Outbox(self._io, self._end, self._release,
                              lambda: rpc.closed_error(engine.closing), label)

    # -- calls out ---------------------------------------------------------
    def start_reader(self) -> None:
        if self._turns is not None:
            return
        self._reader = threading.Thread(target=self.run_reader, daemon=True,
                                        name=f'npipes-rpc-reader {self.label}')
        self._reader.start()

    def call(self, method: str, params: OutParams,
             timeout: Optional[float]) -> JsonValue:
        deadline, call = Deadline(timeout), Call()
        id, data = self._engine.open_call(method, params, call)
        try:
            self._outbox.post(data, call, deadline)
            result: JsonValue = call.result(deadline.left()) \
                if self._turns is None else self._await(call, deadline)
        except concurrent.futures.TimeoutError as exc:
            if not self._give_up(id, call):
                result = call.result()     # being answered right now
            elif isinstance(exc, NPipesError):
                raise                      # no room to send in time
            else:
                self._gave_up = True
                raise no_answer(method, timeout) from None
        except BaseException:
            self._give_up(id, call)
            raise
        return result

    def _give_up(self, id: int, call: Call) -> bool:
        """Forget the call; cancel it at the peer if sent (False: answered)."""
        cancel = self._engine.forget(id)
        if cancel is not None and not self._outbox.withdraw(call):
            self._post(cancel, force=True)
        return cancel is not None

    def notify(self, method: str, params: OutParams,
               timeout: Optional[float] = None) -> None:
        self._outbox.post(self._engine.notification(method, params),
                          deadline=Deadline(timeout))

    def _post(self, data: bytes, force: bool = False) -> None:
        try:
            self._outbox.post(data, force=force)
        except NPipesError:
            pass                       # the connection is gone anyway

    # -- callers reading -----------------------------------------------------
    def _await(self, call: Call, deadline: Deadline) -> JsonValue:
        """*call*'s answer, read by this thread when it is its turn."""
        turns = self._turns
        assert turns is not None
        try:
            while not call.done():
                if turns.take(call):
                    try:
                        self._read_until(call, deadline)
                    finally:
                        turns.give_back()
                elif not call.wait(deadline.left()):
                    raise concurrent.futures.TimeoutError()
        finally:
            turns.leave(call)
        return call.result()

    def _read_until(self, call: Optional[Call], deadline: Deadline) -> None:
        """Take messages until *call* is answered (None: until none is
        there); TimeoutError at *deadline*.  What ends the connection
        ends it here, and the calls fail."""
        clock = self._io.clock
        try:
            while call is None or not call.done():
                limit, reason = clock.limit(deadline.left(), idle=False)
                try:
                    payload = self._io.recv(
                        None if limit is None else max(limit, 0.0))
                except PipeTimeoutError:
                    if reason is not None:
                        raise clock.expired(reason) from None
                    if call is None:
                        return
                    raise concurrent.futures.TimeoutError() from None
                if not self._take(payload, deadline):
                    if call is None:
                        return
                    raise concurrent.futures.TimeoutError()
        except concurrent.futures.TimeoutError:
            raise
        except Exception as exc:
            self._end(self._engine.stopped(exc))

    # -- the reader ----------------------------------------------------------
    def run_reader(self) -> BaseException:
        """Read until the connection ends; return what ended it."""
        clock, engine = self._io.clock, self._engine
        try:
            while True:
                limit, reason = clock.limit(
                    None, engine.idle_left(time.monotonic()))
                try:
                    payload = self._io.recv(
                        None if limit is None else max(limit, 0.0))
                except PipeTimeoutError:
                    if reason is None:     # no limit: recv() never times out
                        raise
                    expired = engine.idle_expired(time.monotonic()) \
                        if reason == IDLE else clock.expired(reason)
                    if expired is None:
                        continue
                    raise expired from None
                self._take(payload)
        except BaseException as exc:       # a bug here must not hang callers
            ended = engine.stopped(exc)
        self._end(ended)
        self._release()
        return ended

    def _take(self, payload: bytes,
              deadline: Optional[Deadline] = None) -> bool:
        """Handle one message; False when its answer had to wait for room
        past *deadline* (a caller reading: it is queued all the same, one
        message over the bound, and the caller stops reading, so a peer
        that floods requests and reads nothing cannot hold it past its
        timeout)."""
        todo = self._engine.receive(payload, time.monotonic())
        if isinstance(todo, bytes):
            if deadline is None:
                self._post(todo)
                return True
            try:
                self._outbox.post(todo, deadline=deadline)
            except PipeTimeoutError:
                self._post(todo, force=True)
                return False
            except NPipesError:
                pass                   # the connection is gone anyway
        elif todo is not None:
            self._dispatch(todo)
        return True

    def _dispatch(self, job: Job) -> None:
        engine = self._engine
        if engine.full:                # backpressure: stop reading
            with self._room:
                while engine.full and engine.closing is None:
                    self._room.wait()
        if engine.closing is not None:
            return
        duplicate = engine.start(job, job[4].set)
        if duplicate is not None:
            self._post(duplicate)
            return
        try:
            self._pool.submit(job)
        except RuntimeError:                # shut down while ending
            self._finished(job)

    def _run(self, job: Job) -> None:
        msg, target, args, kwargs, _ = job
        reply: Optional[bytes] = None
        try:
            if self._engine.closing is not None:
                return
            result = target.func(*args, **kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            reply = self._engine.answer(msg, target, result)
        except BaseException as exc:
            reply = self._engine.failed(msg, exc)
        finally:
            self._finished(job)
        if reply is not None:
            self._post(reply)

    def _finished(self, job: Job) -> None:
        if self._engine.finish(job, time.monotonic()):
            with self._room:
                self._room.notify()

    # -- the end ---------------------------------------------------------------
    def _end(self, cause: BaseException, graceful: bool = False) -> None:
        """End the connection; unless *graceful*, wake both threads."""
        if not self._engine.end(cause):
            return
        with self._room:
            self._room.notify_all()
        self._outbox.close(flush=graceful)
        if not graceful:
            self._io.shutdown()
        self._pool.shutdown()

    def _release(self) -> None:
        with self._room:
            self._users -= 1
            last = self._users == 0
        if last:                # nobody uses the socket any more: close it
            self._io.close()

    def close(self, flush_timeout: float = 5.0) -> None:
        """End the connection from this side: what is queued is sent (for at
        most *flush_timeout* seconds; 0.1 s once a call went unanswered),
        pending calls fail."""
        self._end(closed_here(), graceful=True)
        self._outbox.join(min(flush_timeout, GAVE_UP_FLUSH) if self._gave_up
                          else flush_timeout)
        self._io.shutdown()
        self._outbox.join(JOIN_BOUND)
        turns = self._turns
        if turns is not None and turns.keep(JOIN_BOUND):
            self._release()    # (a poll() is not woken by a close())
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(JOIN_BOUND)

    def abort(self, cause: BaseException) -> None:
        self._end(cause)

    def join_writer(self) -> None:
        self._outbox.join(JOIN_BOUND)

    @property
    def closed(self) -> bool:
        """Ended; without a reader thread, what has come is read first
        (the peer may have closed)."""
        turns = self._turns
        if turns is not None and self._engine.closing is None and \
                turns.take():
            try:
                self._read_until(None, _NOW)
            finally:
                turns.give_back()
        return self._engine.closing is not None
