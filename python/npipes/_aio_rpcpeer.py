"""The asyncio driver of the JSON-RPC engine (_rpcdispatch) on one
npipes.aio Connection: a reader task; ``async def`` functions run as tasks,
plain ones in a pool (``max_workers``).  $/cancelRequest sets the ``cancel``
token if the function takes one, else cancels an ``async def`` function's
task (a plain function without a token runs to its end, as in
StreamJsonRpc)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from typing import Coroutine, Optional, Set

from . import _jsonrpc as rpc
from ._aio_connection import Connection
from ._jsonrpc import JsonValue, OutParams
from ._session import closed_here
from ._rpcdispatch import (DEFAULT_MAX_QUEUED, DEFAULT_MAX_WORKERS, Engine,
                           Job, no_answer)
from ._rpctargets import Registry
from ._util import Deadline
from .errors import ConnectionClosedError, NPipesError, PipeTimeoutError

__all__ = ['Peer', 'DEFAULT_MAX_WORKERS', 'DEFAULT_MAX_QUEUED']


class Peer:
    """JSON-RPC on one npipes.aio Connection: outgoing calls and incoming
    requests (create it inside the running loop)."""

    def __init__(self, conn: Connection, registry: Registry, *,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 max_queued: int = DEFAULT_MAX_QUEUED,
                 label: str = 'rpc') -> None:
        self._loop = asyncio.get_running_loop()
        # The connection's idle timeout is the engine's (a connection
        # waiting for a long call is not idle): it receives with idle=False.
        self._engine = Engine['asyncio.Future[JsonValue]'](
            registry, label, conn.max_payload, conn.idle_timeout,
            max_workers, max_queued, True, self._loop.time())
        self._conn, self.label = conn, label
        self._room = asyncio.Event()
        self._tasks: Set[asyncio.Future[None]] = set()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers, thread_name_prefix='npipes-aio-rpc')
        self._reader: Optional[asyncio.Future[Optional[BaseException]]] = None

    def start(self) -> None:
        self._reader = asyncio.ensure_future(self.run_reader())

    # -- calls out -----------------------------------------------------------
    async def call(self, method: str, params: OutParams,
                   timeout: Optional[float]) -> JsonValue:
        deadline = Deadline(timeout)
        fut: asyncio.Future[JsonValue] = self._loop.create_future()
        id, data = self._engine.open_call(method, params, fut)
        try:
            # send() queues the whole frame before its first await: from
            # here on the peer may get the request.
            try:
                await self._conn.send(data, deadline.left())
            except ConnectionClosedError as exc:
                # The peer closed while we sent (a frame over its limit is
                # refused from its header): what the reader would report.
                raise rpc.lost_error(exc, method) from exc
            return await asyncio.wait_for(fut, deadline.left())
        except (asyncio.TimeoutError, PipeTimeoutError):
            self._give_up(id)
            raise no_answer(method, timeout) from None
        except BaseException:
            self._give_up(id)
            raise

    def _give_up(self, id: int) -> None:
        """Forget call *id* and cancel it at the peer ($/cancelRequest)."""
        cancel = self._engine.forget(id)
        if cancel is not None and self._engine.closing is None:
            self._spawn(self._send(cancel))

    async def _send(self, data: bytes) -> None:
        try:
            await self._conn.send(data)
        except NPipesError:
            pass                       # the connection is gone anyway

    async def notify(self, method: str, params: OutParams,
                     timeout: Optional[float] = None) -> None:
        await self._conn.send(self._engine.notification(method, params),
                              timeout)

    # -- the reader ------------------------------------------------------------
    async def run_reader(self) -> Optional[BaseException]:
        """Read until the connection ends; return what ended it."""
        ended: Optional[BaseException] = None
        engine = self._engine
        try:
            while True:
                try:
                    payload = await self._conn.receive(
                        engine.idle_left(self._loop.time()), idle=False)
                except PipeTimeoutError:
                    expired = engine.idle_expired(self._loop.time())
                    if expired is None:
                        continue
                    raise expired from None
                todo = engine.receive(payload, self._loop.time())
                if isinstance(todo, bytes):
                    await self._send(todo)
                elif todo is not None:
                    await self._dispatch(todo)
        except asyncio.CancelledError:
            ended = engine.closing or closed_here()
        except Exception as exc:
            ended = engine.stopped(exc)
        finally:
            self._end(ended if ended is not None else
                      ConnectionClosedError('reader stopped'), reader=True)
        return ended

    async def _dispatch(self, job: Job) -> None:
        engine = self._engine
        while engine.full and engine.closing is None:
            self._room.clear()             # backpressure: stop reading
            await self._room.wait()
        if engine.closing is not None:
            return
        target, token = job[1], job[4]
        # A function that takes no token can only be cancelled as a task,
        # and only if it is a coroutine (a thread cannot be).
        duplicate = engine.start(job, token.set if target.takes_cancel or
                                 not target.is_async else
                                 lambda: task.cancel())
        if duplicate is not None:
            await self._send(duplicate)
            return
        task = asyncio.ensure_future(self._run(job))
        self._tasks.add(task)
        # Bookkeeping in a done callback: a task cancelled before its first
        # step never runs its own finally.
        task.add_done_callback(functools.partial(self._finished, job))

    async def _run(self, job: Job) -> None:
        msg, target, args, kwargs, _ = job
        reply: Optional[bytes] = None
        try:
            run = functools.partial(target.func, *args, **kwargs)
            result = run() if target.is_async else \
                await self._loop.run_in_executor(self._pool, run)
            if inspect.isawaitable(result):     # (async def: it is)
                result = await result
            reply = self._engine.answer(msg, target, result)
        except BaseException as exc:
            reply = self._engine.failed(msg, exc)
            if not isinstance(exc, (Exception, asyncio.CancelledError)):
                raise                      # KeyboardInterrupt, SystemExit
        if reply is not None and self._engine.closing is None:
            await self._send(reply)

    def _finished(self, job: Job, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        self._engine.finish(job, self._loop.time())
        self._room.set()
        msg = job[0]
        if msg.kind == 'request' and task.cancelled() and \
                self._engine.closing is None:
            # Cancelled before it started: still answer the request.
            self._spawn(self._send(rpc.exception_reply(
                msg.id, asyncio.CancelledError())))

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the end ---------------------------------------------------------------
    def _end(self, cause: BaseException, reader: bool = False) -> None:
        if not self._engine.end(cause):
            return
        self._room.set()
        for task in list(self._tasks):
            task.cancel()
        if not reader and self._reader is not None:
            self._reader.cancel()
        self._conn.close()
        self._pool.shutdown(wait=False)

    def abort(self, cause: BaseException) -> None:
        self._end(cause)

    async def aclose(self) -> None:
        self._end(closed_here())
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._conn.aclose()

    @property
    def closed(self) -> bool:
        return self._engine.closing is not None
