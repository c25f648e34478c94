"""The JSON-RPC engine's rules, written once for the threaded (_rpcpeer.py)
and the asyncio (_aio_rpcpeer.py) engine; no I/O, no threads, no asyncio.

What an incoming message asks for (an answer at once, a response to one of
our calls, a cancellation, or a call to run), the reply a finished call
gets, how large a message may be, the default limits, and the idle rule: a
connection is idle only while no call runs or waits for its answer.
"""

from __future__ import annotations

import logging
import threading
from typing import (Dict, Generic, NamedTuple, Optional, Protocol, Set, Tuple,
                    TypeVar)

from . import _jsonrpc as rpc
from ._jsonrpc import Id
from ._rpctargets import Registry, Target, Token, new_token
from ._session import PEER_CLOSED
from .errors import ConnectionClosedError, FrameTooLargeError, PipeTimeoutError

__all__ = ['DEFAULT_MAX_WORKERS', 'DEFAULT_MAX_QUEUED', 'Route', 'Dispatch']

log = logging.getLogger('npipes')

#: Functions run at once per connection, and requests that may wait for a
#: free worker beyond those; past both the connection is not read (the
#: peer's writes wait) until one finishes.
DEFAULT_MAX_WORKERS = 8
DEFAULT_MAX_QUEUED = 256


def check_limits(max_workers: int, max_queued: int) -> None:
    """ValueError unless ``max_workers >= 1`` and ``max_queued >= 0``."""
    if max_workers < 1 or max_queued < 0:
        raise ValueError('max_workers must be >= 1 and max_queued >= 0')


class Route(NamedTuple):
    """What one incoming message asks for (the other fields None)."""

    #: Send this at once (a malformed message or an unknown method).
    reply: Optional[bytes] = None
    #: The answer to one of our calls.
    response: Optional[rpc.Response] = None
    #: ``$/cancelRequest``: the id of the request to cancel (may be None).
    cancel: Optional[Tuple[Optional[Id]]] = None
    #: A request or notification to run: (message, target, args, kwargs,
    #: token).
    call: Optional[Tuple[rpc.Call, Target, Tuple[object, ...],
                         Dict[str, object], Token]] = None


class Dispatch:
    """One connection's dispatch rules: *registry*, *label* for the logs,
    *max_payload* for the messages sent."""

    def __init__(self, registry: Registry, label: str,
                 max_payload: Optional[int], asynchronous: bool) -> None:
        self.registry = registry
        self.label = label
        self.max_payload = max_payload
        self._asynchronous = asynchronous

    def route(self, payload: bytes) -> Route:
        """What *payload* (one frame) asks for."""
        try:
            msg = rpc.parse(payload)
        except rpc.ProtocolError as exc:
            log.warning('%s: bad JSON-RPC message: %s', self.label, exc)
            return Route(reply=rpc.error_reply(exc.id, exc.code, str(exc))
                         if exc.answer else None)
        if isinstance(msg, rpc.Response):
            return Route(response=msg)
        if msg.method == rpc.CANCEL_METHOD:
            return Route(cancel=(rpc.cancel_target(msg.params),))
        target: Optional[Target] = None
        try:
            target = self.registry.get(msg.method)
            token = new_token(target, self._asynchronous)
            args, kwargs = target.bind(msg.params, token)
        except rpc.ProtocolError as exc:
            if msg.kind == 'request':
                return Route(reply=rpc.error_reply(msg.id, exc.code, str(exc)))
            log.debug('%s: notification dropped: %s', self.label, exc)
            return Route()
        return Route(call=(msg, target, args, kwargs, token))

    def unknown(self, msg: rpc.Response) -> None:
        """A response nobody waits for (late, after a timeout?)."""
        log.debug('%s: %s for unknown id %r (late, after a timeout?)',
                  self.label, rpc.summary(msg.body), msg.id)

    @staticmethod
    def duplicate(id: Optional[Id]) -> bytes:
        """The answer to a request whose id a running request uses."""
        return rpc.error_reply(id, rpc.INVALID_REQUEST, f'id {id!r} is '
                               f'already used by a running request')

    def answer(self, msg: rpc.Call, result: object) -> Optional[bytes]:
        """The reply to *msg* that returned *result* (None: a
        notification)."""
        if msg.kind != 'request':
            return None
        return rpc.reply_for_result(msg.id, msg.method, result,
                                    self.max_payload)

    def failed(self, msg: rpc.Call, exc: BaseException) -> Optional[bytes]:
        """Log what *msg* raised; the error reply (None: a notification)."""
        if isinstance(exc, rpc.RemoteError) or rpc.is_cancellation(exc):
            log.debug('%s: %s answered %r', self.label, msg.method, exc)
        else:
            log.warning('%s: %s raised %s', self.label, msg.method,
                        rpc.type_name(exc), exc_info=exc)
        return rpc.exception_reply(msg.id, exc) \
            if msg.kind == 'request' else None

    def sized(self, data: bytes) -> bytes:
        """*data*, or FrameTooLargeError (nothing sent) if it does not fit
        in one frame."""
        if self.max_payload is not None and len(data) > self.max_payload:
            raise FrameTooLargeError(
                f'the message is {len(data)} bytes as JSON, more than the '
                f'{self.max_payload}-byte frame limit (nothing was sent)')
        return data


def no_answer(method: str, timeout: Optional[float]) -> PipeTimeoutError:
    """A call's timeout (the call is cancelled at the peer)."""
    return PipeTimeoutError(f'no reply to {method!r} within {timeout} s (the '
                            f'call was cancelled with {rpc.CANCEL_METHOD})')


def idle_left(idle_timeout: float, busy: bool, last_activity: float,
              now: float) -> float:
    """Seconds before the connection counts as idle: the whole idle
    timeout while a call runs or waits, else from the last activity."""
    return idle_timeout if busy else max(0.0,
                                         last_activity + idle_timeout - now)


class Abortable(Protocol):
    """An engine's Peer, as its server ends it."""

    def abort(self, cause: BaseException) -> None: ...


_P = TypeVar('_P', bound=Abortable)


class Peers(Generic[_P]):
    """The engines of a server's open connections (both RpcServers): each
    joins when its connection starts and leaves when it ends; close()
    aborts them all."""

    def __init__(self) -> None:
        self._peers: Set[_P] = set()
        self._lock = threading.Lock()

    def join(self, peer: _P, server_closed: bool) -> None:
        """Count *peer* in (aborted at once if the server just closed)."""
        with self._lock:
            if server_closed:
                peer.abort(_server_closed())
            self._peers.add(peer)

    def leave(self, peer: _P) -> None:
        with self._lock:
            self._peers.discard(peer)

    def abort_all(self) -> None:
        """End every connection (running functions see their token set)."""
        with self._lock:
            peers = list(self._peers)
        for peer in peers:
            peer.abort(_server_closed())


def _server_closed() -> ConnectionClosedError:
    return ConnectionClosedError('server closed', reason='closed')


def raise_unless_clean(ended: Optional[BaseException]) -> None:
    """Raise what ended a served connection (for the Listener to report),
    unless the peer or this side closed it."""
    if isinstance(ended, ConnectionClosedError) and \
            ended.reason in (PEER_CLOSED, 'closed'):
        return
    if ended is not None:
        raise ended
