"""The JSON-RPC engine of one connection, written once for the threaded
(_rpcpeer.py) and the asyncio (_aio_rpcpeer.py) driver; no I/O, no threads
of its own, no asyncio: request ids, the calls waiting for their answer, the
requests running here, backpressure, the idle rule, sizing, what a message
asks for and the end (docs/rpc.md §6: an invalid message ends it)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from typing import (Callable, ContextManager, Dict, Generic, Iterator,
                    Optional, Protocol, Set, Tuple, TypeVar, Union)

from . import _jsonrpc as rpc
from ._jsonrpc import Id, JsonValue, OutParams
from ._rpctargets import Registry, Target, Token, new_token
from ._session import CLOSED_HERE, IDLE, PEER_CLOSED
from .errors import (ConnectionClosedError, FrameTooLargeError, NPipesError,
                     PipeTimeoutError)

__all__ = ['DEFAULT_MAX_WORKERS', 'DEFAULT_MAX_QUEUED', 'Engine', 'Job']

log = logging.getLogger('npipes')

#: Functions run at once per connection, and requests that may wait beyond
#: those; past both the connection is not read until one finishes.
DEFAULT_MAX_WORKERS = 8
DEFAULT_MAX_QUEUED = 256
#: docs/rpc.md §9: the payloads of the peer's requests read and not yet
#: answered stop the reading at 4 MiB (.NET's MaxPendingRequestBytes).
MAX_PENDING_BYTES = 4 * 1024 * 1024


def check_limits(max_workers: int, max_queued: int) -> None:
    """ValueError unless ``max_workers >= 1`` and ``max_queued >= 0``."""
    if max_workers < 1 or max_queued < 0:
        raise ValueError('max_workers must be >= 1 and max_queued >= 0')


class Waiter(Protocol):
    """A call's future: concurrent.futures.Future or asyncio.Future."""
    def done(self) -> bool: ...
    def set_result(self, result: JsonValue) -> None: ...
    def set_exception(self, exception: BaseException) -> None: ...


#: A request or notification to run: (message, target, args, kwargs, token).
Job = Tuple[rpc.Call, Target, Tuple[object, ...], Dict[str, object], Token]
_W = TypeVar('_W', bound=Waiter)


class Engine(Generic[_W]):
    """*registry* answers the peer's calls; *asynchronous*: ``async def``
    functions get asyncio tokens, and ``lock`` is a no-op (a
    threading.Lock for the threaded driver); *now*: the driver's clock."""

    def __init__(self, registry: Registry, label: str,
                 max_payload: Optional[int], idle_timeout: Optional[float],
                 max_workers: int, max_queued: int, asynchronous: bool,
                 now: float) -> None:
        check_limits(max_workers, max_queued)
        self.registry, self.label = registry, label
        self.max_payload, self.idle_timeout = max_payload, idle_timeout
        self.limit = max_workers + max_queued
        self.lock: ContextManager[object] = contextlib.nullcontext()
        if not asynchronous:
            self.lock = threading.Lock()
        self._asynchronous = asynchronous
        self._ids = itertools.count(1)
        self._last_id = 0
        self._pending: Dict[Id, Tuple[str, _W]] = {}     # our calls
        # their running requests (id may be null): token, how to cancel it
        self._inbound: Dict[Optional[Id],
                            Tuple[Token, Callable[[], object]]] = {}
        self.running = 0                # dispatched functions not finished
        self.running_bytes = 0          # their requests' payloads (§9)
        self.last_activity = now
        self.closing: Optional[BaseException] = None

    # -- calls out -----------------------------------------------------------
    def check_open(self) -> None:
        if self.closing is not None:
            raise rpc.closed_error(self.closing)

    def sized(self, data: bytes) -> bytes:
        """*data*, or FrameTooLargeError if it does not fit in a frame."""
        if self.max_payload is not None and len(data) > self.max_payload:
            raise FrameTooLargeError(
                f'the message is {len(data)} bytes as JSON, more than the '
                f'{self.max_payload}-byte frame limit (nothing was sent)')
        return data

    def open_call(self, method: str, params: OutParams,
                  waiter: _W) -> Tuple[int, bytes]:
        """A new call's id and request; *waiter* gets its outcome."""
        id = next(self._ids)
        data = self.sized(rpc.request(id, method, params))
        with self.lock:
            self.check_open()
            self._pending[id] = (method, waiter)
            self._last_id = max(self._last_id, id)
        return id, data

    def notification(self, method: str, params: OutParams) -> bytes:
        self.check_open()
        return self.sized(rpc.request(None, method, params))

    def forget(self, id: int) -> Optional[bytes]:
        """Call *id*'s caller gives up: the ``$/cancelRequest`` to send."""
        with self.lock:
            if self._pending.pop(id, None) is None:
                return None
        return rpc.request(None, rpc.CANCEL_METHOD, {'id': id})

    # -- messages in ---------------------------------------------------------
    def receive(self, payload: bytes, now: float) -> Union[None, bytes, Job]:
        """Take one message (responses and cancellations are handled here):
        a reply to send, a Job to :meth:`start`, or None.
        InvalidMessageError: the connection is to end."""
        msg = rpc.parse(payload)
        with self.lock:
            self.last_activity = now
        if isinstance(msg, rpc.Response):
            self._answered(msg)
            return None
        if msg.method == rpc.CANCEL_METHOD:
            with self.lock:
                running = self._inbound.get(rpc.cancel_target(msg.params))
            if running is not None:
                running[1]()
            return None
        try:
            target = self.registry.get(msg.method)
            token = new_token(target, self._asynchronous)
            args, kwargs = target.bind(msg.params, token)
        except rpc.ProtocolError as exc:
            if msg.kind == 'request':
                return rpc.error_reply(msg.id, exc.code, str(exc))
            log.debug('%s: notification dropped: %s', self.label, exc)
            return None
        return msg, target, args, kwargs, token

    def _answered(self, msg: rpc.Response) -> None:
        with self.lock:
            waiting = self._pending.pop(msg.id, None) \
                if msg.id is not None else None
            late = isinstance(msg.id, int) and 0 < msg.id <= self._last_id
        if waiting is not None:
            result, error = rpc.outcome(msg.body)
            if not waiting[1].done():       # (else its caller stopped waiting)
                if error is not None:
                    waiting[1].set_exception(error)
                else:
                    waiting[1].set_result(result)
        elif late:      # a call whose caller gave up (timed out) before
            log.debug('%s: %s for call %r after its caller gave up',
                      self.label, rpc.summary(msg.body), msg.id)
        else:
            raise rpc.InvalidMessageError(f'a response to no request (id '
                                          f'{msg.id!r})')

    @property
    def full(self) -> bool:
        """Backpressure (docs/rpc.md §9): stop reading until a request
        finishes, at ``max_workers + max_queued`` of them or 4 MiB of their
        payloads (a request is always read when none is pending)."""
        return self.running >= self.limit or \
            self.running_bytes >= MAX_PENDING_BYTES

    def start(self, job: Job, cancel: Callable[[], object]) -> Optional[bytes]:
        """Count *job* as running (*cancel* stops it), or the reply if its
        id is a running request's."""
        msg = job[0]
        with self.lock:
            if msg.kind == 'request':
                if msg.id in self._inbound:
                    return rpc.error_reply(
                        msg.id, rpc.INVALID_REQUEST, f'id {msg.id!r} is '
                        f'already used by a running request')
                self._inbound[msg.id] = (job[4], cancel)
                self.running_bytes += msg.size
            self.running += 1
        return None

    def finish(self, job: Job, now: float) -> bool:
        """*job* (started) ended; True if the engine was :attr:`full`."""
        with self.lock:
            full = self.full
            self.running -= 1
            if job[0].kind == 'request':
                self.running_bytes -= job[0].size
            if self._inbound.get(job[0].id, (None,))[0] is job[4]:
                del self._inbound[job[0].id]
            self.last_activity = now
        return full

    def answer(self, msg: rpc.Call, target: Target,
               result: object) -> Optional[bytes]:
        """The reply to *msg*, for which *target* returned *result* (None:
        none); RemoteError -32603 if *result* does not fit its contract."""
        return rpc.reply_for_result(msg.id, msg.method, target.result(result),
                                    self.max_payload) \
            if msg.kind == 'request' else None

    def failed(self, msg: rpc.Call, exc: BaseException) -> Optional[bytes]:
        """Log what *msg* raised; the error reply (None: a notification)."""
        if isinstance(exc, rpc.RemoteError) or rpc.is_cancellation(exc):
            log.debug('%s: %s answered %r', self.label, msg.method, exc)
        else:
            log.warning('%s: %s raised %s', self.label, msg.method,
                        rpc.type_name(exc), exc_info=exc)
        return rpc.exception_reply(msg.id, exc) \
            if msg.kind == 'request' else None

    # -- the idle rule ---------------------------------------------------------
    def idle_left(self, now: float) -> Optional[float]:
        """Seconds until idle (None: never; all of them while calls run)."""
        if self.idle_timeout is None:
            return None
        with self.lock:
            if self.running or self._pending:
                return self.idle_timeout
            return max(0.0, self.last_activity + self.idle_timeout - now)

    def idle_expired(self, now: float) -> Optional[ConnectionClosedError]:
        """After a read timed out on the idle limit: the error ending the
        connection, or None (a call ended meanwhile: the count restarts)."""
        if self.idle_left(now) != 0.0:
            return None
        return ConnectionClosedError(f'connection closed by this side: {IDLE} '
                                     f'({self.idle_timeout} s)', reason=IDLE)

    # -- the end ---------------------------------------------------------------
    def stopped(self, exc: BaseException) -> BaseException:
        """*exc*, which ended the reader (logged unless an npipes error)."""
        if not isinstance(exc, NPipesError):
            log.error('%s: RPC reader failed', self.label, exc_info=exc)
        return exc

    def end(self, cause: BaseException) -> bool:
        """Fail every pending call and cancel every running request (False:
        ended already)."""
        with self.lock:
            if self.closing is not None:
                return False
            self.closing = cause
            pending, self._pending = self._pending, {}
            running = list(self._inbound.values())
        for _, cancel in running:
            cancel()
        for method, waiter in pending.values():
            if not waiter.done():
                waiter.set_exception(rpc.lost_error(cause, method))
        return True


def no_answer(method: str, timeout: Optional[float]) -> PipeTimeoutError:
    """A call's timeout (the call is cancelled at the peer)."""
    return PipeTimeoutError(f'no reply to {method!r} within {timeout} s (the '
                            f'call was cancelled with {rpc.CANCEL_METHOD})')


class Peers:
    """A server's open connections (both RpcServers), as their drivers'
    ``abort``; abort_all() ends them (running functions see their token)."""

    def __init__(self) -> None:
        self._aborts: Set[Callable[[BaseException], None]] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def serving(self, abort: Callable[[BaseException], None],
                server_closed: bool) -> Iterator[None]:
        """Count a connection in while served (aborted if *server_closed*)."""
        with self._lock:
            if server_closed:
                abort(_server_closed())
            self._aborts.add(abort)
        try:
            yield
        finally:
            with self._lock:
                self._aborts.discard(abort)

    def abort_all(self) -> None:
        with self._lock:
            aborts = list(self._aborts)
        for abort in aborts:
            abort(_server_closed())


def _server_closed() -> ConnectionClosedError:
    return ConnectionClosedError('server closed', reason=CLOSED_HERE)


def raise_unless_clean(ended: Optional[BaseException]) -> None:
    """Raise what ended a served connection unless a close (for the
    Listener to report)."""
    if isinstance(ended, ConnectionClosedError) and \
            ended.reason in (PEER_CLOSED, CLOSED_HERE):
        return
    if ended is not None:
        raise ended
