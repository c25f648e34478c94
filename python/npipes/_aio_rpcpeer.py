"""The asyncio JSON-RPC engine over one npipes.aio Connection (either end).

One reader task matches responses to calls by id and dispatches requests:
``async def`` functions run as tasks, plain functions in a thread pool of
the connection (``max_workers``); at most ``max_workers + max_queued``
requests run or wait, after which the connection is not read until one
finishes.  $/cancelRequest sets the request's ``cancel`` token if the
function declares one, else cancels an ``async def`` function's task (a
plain function without a token runs to its end, as in StreamJsonRpc).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import itertools
import logging
from typing import Dict, Optional, Set, Tuple

from . import _jsonrpc as rpc
from ._aio_connection import Connection
from ._jsonrpc import Body, Id, JsonValue, OutParams
from ._rpcdispatch import (DEFAULT_MAX_QUEUED, DEFAULT_MAX_WORKERS, Dispatch,
                           check_limits, idle_left, no_answer)
from ._rpctargets import Registry, Target, Token
from ._session import IDLE
from .errors import ConnectionClosedError, NPipesError, PipeTimeoutError

__all__ = ['Peer', 'DEFAULT_MAX_WORKERS', 'DEFAULT_MAX_QUEUED']

log = logging.getLogger('npipes')


class Peer:
    """JSON-RPC on one npipes.aio Connection: outgoing calls and incoming
    requests (create it inside the running loop)."""

    def __init__(self, conn: Connection, registry: Registry, *,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 max_queued: int = DEFAULT_MAX_QUEUED,
                 label: str = 'rpc') -> None:
        check_limits(max_workers, max_queued)
        self._conn = conn
        # The connection's idle timeout is the engine's (a connection
        # waiting for a long call is not idle): it receives with idle=False.
        self.idle_timeout = conn.idle_timeout
        self.max_payload = conn.max_payload
        self.label = label
        self._rules = Dispatch(registry, label, conn.max_payload, True)
        self._max_workers = max_workers
        self._slots = asyncio.Semaphore(max_workers + max_queued)
        self._ids = itertools.count(1)
        self._pending: Dict[Id, Tuple[asyncio.Future[Body], str]] = {}
        # their running requests: id -> (task or None, token or None)
        self._inbound: Dict[Optional[Id], Tuple[Optional[asyncio.Future[None]],
                                                Optional[Token]]] = {}
        self._tasks: Set[asyncio.Future[None]] = set()
        self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._closing: Optional[BaseException] = None
        self._loop = asyncio.get_running_loop()
        self._last_activity = self._loop.time()
        self._reader: Optional[asyncio.Future[Optional[BaseException]]] = None

    def start(self) -> None:
        self._reader = asyncio.ensure_future(self.run_reader())

    # -- calls out -----------------------------------------------------------
    def _check_open(self) -> None:
        if self._closing is not None:
            raise rpc.closed_error(self._closing)

    def _sized(self, data: bytes) -> bytes:
        return self._rules.sized(data)

    async def call(self, method: str, params: OutParams,
                   timeout: Optional[float]) -> JsonValue:
        self._check_open()
        end = None if timeout is None else self._loop.time() + timeout
        id = next(self._ids)
        data = self._sized(rpc.request(id, method, params))
        fut: asyncio.Future[Body] = self._loop.create_future()
        self._pending[id] = (fut, method)
        try:
            # send() queues the whole frame before its first await: from
            # here on the peer may get the request.
            await self._conn.send(data, self._left(end))
            body = await asyncio.wait_for(fut, self._left(end))
        except (asyncio.TimeoutError, PipeTimeoutError):
            self._give_up(id)
            raise no_answer(method, timeout) from None
        except BaseException:
            self._give_up(id)
            raise
        result, error = rpc.outcome(body)
        if error is not None:
            raise error
        return result

    def _left(self, end: Optional[float]) -> Optional[float]:
        return None if end is None else max(0.0, end - self._loop.time())

    def _give_up(self, id: int) -> None:
        """Forget call *id* and cancel it at the peer ($/cancelRequest)."""
        if self._pending.pop(id, None) is None or self._closing is not None:
            return
        self._give_reply(rpc.request(None, rpc.CANCEL_METHOD, {'id': id}))

    async def _send_quietly(self, data: bytes) -> None:
        try:
            await self._conn.send(data)
        except NPipesError:
            pass

    async def notify(self, method: str, params: OutParams,
                     timeout: Optional[float] = None) -> None:
        self._check_open()
        await self._conn.send(self._sized(rpc.request(None, method, params)),
                              timeout)

    # -- the reader ------------------------------------------------------------
    async def run_reader(self) -> Optional[BaseException]:
        """Read until the connection ends; return what ended it."""
        ended: Optional[BaseException] = None
        try:
            while True:
                limit = None
                if self.idle_timeout is not None:
                    limit = idle_left(self.idle_timeout, self._busy(),
                                      self._last_activity, self._loop.time())
                try:
                    payload = await self._conn.receive(limit, idle=False)
                except PipeTimeoutError:
                    if self._busy():
                        continue
                    raise ConnectionClosedError(
                        f'connection closed by this side: {IDLE} '
                        f'({self.idle_timeout} s)', reason=IDLE) from None
                self._last_activity = self._loop.time()
                await self._handle(payload)
        except NPipesError as exc:
            ended = exc
        except asyncio.CancelledError:
            ended = self._closing or ConnectionClosedError(
                'connection closed by this side', reason='closed')
        except Exception as exc:
            log.error('%s: RPC reader failed', self.label, exc_info=exc)
            ended = exc
        finally:
            self._end(ended if ended is not None else
                      ConnectionClosedError('reader stopped'), reader=True)
        return ended

    def _busy(self) -> bool:
        return bool(self._pending or self._inbound or self._tasks)

    async def _reply(self, data: bytes) -> None:
        if self._closing is None:
            await self._send_quietly(data)

    async def _handle(self, payload: bytes) -> None:
        route = self._rules.route(payload)
        if route.reply is not None:
            await self._reply(route.reply)
        elif route.response is not None:
            msg = route.response
            waiting = self._pending.pop(msg.id, None) \
                if msg.id is not None else None
            if waiting is None:
                self._rules.unknown(msg)
            elif not waiting[0].done():
                waiting[0].set_result(msg.body)
        elif route.cancel is not None:
            running = self._inbound.get(route.cancel[0])
            if running is not None:
                running_task, running_token = running
                if running_token is not None:
                    running_token.set()
                elif running_task is not None:
                    running_task.cancel()
        elif route.call is not None:
            await self._dispatch(*route.call)

    async def _dispatch(self, msg: rpc.Call, target: Target,
                        args: Tuple[object, ...], kwargs: Dict[str, object],
                        token: Token) -> None:
        if msg.kind == 'request' and msg.id in self._inbound:
            await self._reply(self._rules.duplicate(msg.id))
            return
        await self._slots.acquire()       # backpressure: stop reading
        if self._closing is not None:
            self._slots.release()
            return
        task = asyncio.ensure_future(self._run(msg, target, args, kwargs))
        self._tasks.add(task)
        # Bookkeeping in a done callback: a task cancelled before its first
        # step never runs its own finally.
        task.add_done_callback(functools.partial(self._finished, msg))
        if msg.kind == 'request':
            # A function that takes no token can only be cancelled as a
            # task, and only if it is a coroutine (a thread cannot be).
            self._inbound[msg.id] = (
                task if target.is_async else None,
                token if target.takes_cancel else None)

    async def _run(self, msg: rpc.Call, target: Target,
                   args: Tuple[object, ...],
                   kwargs: Dict[str, object]) -> None:
        reply: Optional[bytes] = None
        try:
            if target.is_async:
                result = target.func(*args, **kwargs)
                if inspect.isawaitable(result):     # (it is: async def)
                    result = await result
            else:
                result = await self._loop.run_in_executor(
                    self._pool(), functools.partial(target.func, *args,
                                                    **kwargs))
                if inspect.isawaitable(result):
                    result = await result
            reply = self._rules.answer(msg, result)
        except BaseException as exc:
            reply = self._rules.failed(msg, exc)
            if not isinstance(exc, (Exception, asyncio.CancelledError)):
                raise                      # KeyboardInterrupt, SystemExit
        if reply is not None:
            await self._reply(reply)

    def _finished(self, msg: rpc.Call, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if msg.kind == 'request':
            self._inbound.pop(msg.id, None)
            if task.cancelled() and self._closing is None:
                # Cancelled before it started: still answer the request.
                self._give_reply(rpc.error_reply(
                    msg.id, rpc.REQUEST_CANCELLED, rpc.CANCELLED_TEXT))
        self._last_activity = self._loop.time()

    def _give_reply(self, data: bytes) -> None:
        task = asyncio.ensure_future(self._send_quietly(data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                self._max_workers, thread_name_prefix='npipes-aio-rpc')
        return self._executor

    # -- the end ---------------------------------------------------------------
    def _end(self, cause: BaseException, reader: bool = False) -> None:
        if self._closing is not None:
            return
        self._closing = cause
        pending, self._pending = self._pending, {}
        for fut, method in pending.values():
            if not fut.done():
                fut.set_exception(rpc.lost_error(cause, method))
        for task, token in list(self._inbound.values()):
            if token is not None:
                token.set()
        for task in list(self._tasks):
            task.cancel()
        if not reader and self._reader is not None:
            self._reader.cancel()
        self._conn.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def abort(self, cause: BaseException) -> None:
        self._end(cause)

    async def aclose(self) -> None:
        self._end(ConnectionClosedError('connection closed by this side',
                                        reason='closed'))
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._conn.aclose()

    @property
    def closed(self) -> bool:
        return self._closing is not None
