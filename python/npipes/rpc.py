"""Remote calls over npipes: JSON-RPC 2.0, one message per frame.

The protocol is the one NPipes.JsonRpc (StreamJsonRpc) speaks on the .NET
side, so a Python client can call a .NET server and the other way round::

    from npipes import rpc

    # server (blocks; stop it with server.close() from another thread)
    def add(a: float, b: float) -> float:
        return a + b
    rpc.serve('calc', {'add': add})

    # client
    with rpc.connect('calc', timeout=5) as client:
        print(client.call('add', 2, 3, timeout=5))        # 5

A function may declare a keyword parameter ``cancel``: it receives a
:class:`CancelToken` (a threading.Event) that is set when the caller cancels
(``$/cancelRequest``, sent by a client whose call timed out) or the
connection ends.  A parameter ``caller`` receives the PeerIdentity of the
connection (``pid``, ``uid``, ``user``, ``sid``, ``gids``: who called, read
once from the OS; docs/access.md §5), so a function can authorize per call.
What a function raises comes back as an error with code
-32000 and ``data = {"type", "message"}``; raising :class:`RemoteError`
picks the code.  Nothing is printed: the server logs to the ``'npipes'``
logger.

Typed functions (every parameter and the result annotated) are checked
against their hints before they run (-32602 naming the parameter) and
described by ``rpc.discover`` (an OpenRPC document); a client calls them
through a ``typing.Protocol``: ``client.proxy(Calculator).add(1, 2)``.
Parameter and member names are camelCase on the wire (docs/rpc.md §8).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, TypeVar, Union, cast

from . import _jsonrpc
from ._contract.names import AS_IS, CAMEL_CASE, NameTransform
from ._contract.proxy import proxy as _proxy
from ._contract.service import DISCOVER_METHOD
from ._jsonrpc import (CANCEL_METHOD, INTERNAL_ERROR, INVALID_PARAMS,
                       INVALID_REQUEST, INVOCATION_ERROR, METHOD_NOT_FOUND,
                       PARSE_ERROR, REQUEST_CANCELLED, InvalidMessageError,
                       JsonInput, JsonValue, RemoteError,
                       RequestCancelledError)
from ._rpcdispatch import DEFAULT_MAX_QUEUED as DEFAULT_MAX_QUEUED
from ._rpcdispatch import DEFAULT_MAX_WORKERS as DEFAULT_MAX_WORKERS
from ._rpcdispatch import Peers, check_limits, raise_unless_clean
from ._rpcpeer import Peer
from ._rpctargets import CancelToken, Functions, Registry, client_peer
from .connection import Connection
from .consts import DEFAULT_PIPE_NAME
from .listener import Listener

T = TypeVar('T')

__all__ = ['RpcClient', 'RpcServer', 'connect', 'serve', 'RemoteError',
           'RequestCancelledError', 'CancelToken', 'PARSE_ERROR',
           'INVALID_REQUEST', 'METHOD_NOT_FOUND', 'INVALID_PARAMS',
           'INTERNAL_ERROR', 'INVOCATION_ERROR', 'REQUEST_CANCELLED',
           'CANCEL_METHOD', 'JsonValue', 'JsonInput', 'Functions',
           'InvalidMessageError']


class RpcClient:
    """JSON-RPC calls over one npipes Connection (which it takes over).

    ``call`` may be used by many threads at once: each request gets its own
    id and every reply reaches its caller, whatever the order.  Without
    *functions* (and without an idle timeout) the callers read the replies
    themselves, one at a time, with no reader thread (docs/rpc.md §6: the
    server's requests are then answered at the next call or ``closed``);
    *functions* (as for :class:`RpcServer`) answer requests and
    notifications the server sends to this side, read by a thread of the
    client's own.
    """

    def __init__(self, connection: Connection, functions: Functions = None,
                 *, max_workers: int = DEFAULT_MAX_WORKERS,
                 max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        self.connection = connection
        self._peer = client_peer(Peer, connection, functions,
                                 f'rpc client {id(self):x}',
                                 max_workers=max_workers,
                                 max_queued=max_queued, caller_reads=True)
        self._peer.start_reader()

    @classmethod
    def connect(cls, name: str = DEFAULT_PIPE_NAME,
                timeout: Optional[float] = None, *,
                functions: Functions = None, **options: Any) -> RpcClient:
        """Connect to the JSON-RPC server of pipe *name*, waiting up to
        *timeout* seconds for it; the other options as
        :func:`npipes.connect` (``crc``, ``endian``, ``encoding``,
        ``max_payload``, ``allow_other_users``, ``idle_timeout``,
        ``frame_timeout``)."""
        conn = Connection.connect(name, timeout, **options)
        try:
            return cls(conn, functions)
        except BaseException:
            conn.close()
            raise

    def call(self, method: str, *args: JsonInput,
             timeout: Optional[float] = None,
             **named: JsonInput) -> JsonValue:
        """Call *method* with positional *args* (or keyword *named* ones,
        sent as a JSON object; not both) and return its result.

        Raises RemoteError (``code``, ``message``, ``data``) if the server
        answers with an error (RequestCancelledError for -32800);
        PipeTimeoutError after *timeout* seconds, having sent
        ``$/cancelRequest`` for it; ConnectionClosedError if the connection
        ends first; FrameTooLargeError, before sending, if the request does
        not fit in one frame; TypeError/ValueError if the arguments are
        not JSON.  (A parameter called ``timeout`` can only be passed
        positionally.)
        """
        params = _jsonrpc.params_of(method, args, named)
        return self._peer.call(method, params, timeout)

    def proxy(self, protocol: Callable[..., T], *,
              timeout: Optional[float] = None,
              methods: NameTransform = AS_IS,
              members: NameTransform = CAMEL_CASE) -> T:
        """An object typed as *protocol* (a ``typing.Protocol``, e.g. one
        ``npipes rpc stubs`` wrote) whose methods call the server:
        ``calc = client.proxy(Calculator); calc.add(1, b=2)``.  Arguments
        are checked and converted by the protocol's type hints before
        sending (TypeError), results converted back (ResultTypeError when
        they do not fit); each call waits up to *timeout* seconds.
        *methods*/*members* as for :class:`RpcServer`.  The protocol's
        contract is read once, here: keep the proxy, not the protocol."""
        def send(method: str, params: Union[List[object], Dict[str, object]]
                 ) -> object:
            return self._peer.call(method, cast(_jsonrpc.OutParams, params),
                                   timeout)
        return _proxy(protocol, send, methods=methods, members=members)

    def describe(self, timeout: Optional[float] = None) -> JsonValue:
        """The server's OpenRPC document (``rpc.discover``)."""
        return self.call(DISCOVER_METHOD, timeout=timeout)

    def notify(self, method: str, *args: JsonInput,
               timeout: Optional[float] = None, **named: JsonInput) -> None:
        """Send a notification (no reply).  Returns once it is queued, in
        order with the calls; ``close()`` sends what is queued."""
        params = _jsonrpc.params_of(method, args, named)
        self._peer.notify(method, params, timeout)

    @property
    def closed(self) -> bool:
        return self._peer.closed

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for at most *timeout* seconds) and close;
        calls still waiting fail with ConnectionClosedError."""
        self._peer.close(timeout)

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f'<RpcClient {"closed" if self.closed else "open"}>'


def connect(name: str = DEFAULT_PIPE_NAME, timeout: Optional[float] = None,
            **options: Any) -> RpcClient:
    """Shorthand for :meth:`RpcClient.connect` (the same options)."""
    return RpcClient.connect(name, timeout, **options)


class RpcServer:
    """Serve *functions* over JSON-RPC on pipe *name*, to many clients.

    *functions*: a mapping ``{name: function}``, a list of functions, or an
    object whose public methods are served.  Every connection gets a pool
    of *max_workers* threads, so calls run concurrently and reply in any
    order; *max_queued* more requests may wait, after which that client
    is not read until one finishes.  The other options are the Listener's
    (``crc``, ``endian``, ``encoding``, ``max_payload``,
    ``allow_other_users``, ``backlog``, ``max_connections``,
    ``idle_timeout``, ``frame_timeout``, ``on_error``):
    the same limits and the same current-user-only rule.  A connection
    counts as idle only while no call is running.

    Typed functions are checked against their type hints (-32602 naming
    the parameter, before they run) and listed by ``rpc.discover``.
    *methods* maps Python method names to wire names (``contract.AS_IS``,
    the default, ``CAMEL_CASE``, ``PASCAL_CASE``, ``prefix('calc.')``);
    *members* names parameters and dataclass members on the wire (default
    camelCase: ``first_name`` is ``firstName``; ``contract.AS_IS`` keeps
    Python's).  See docs/rpc.md §8.
    """

    def __init__(self, name: str, functions: Functions, *,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 max_queued: int = DEFAULT_MAX_QUEUED,
                 methods: NameTransform = AS_IS,
                 members: NameTransform = CAMEL_CASE,
                 **options: Any) -> None:
        self._registry = Registry(functions, methods=methods,
                                  members=members, name=name)
        self._max_workers, self._max_queued = max_workers, max_queued
        check_limits(max_workers, max_queued)
        self._listener = Listener(name, **options)
        self.name = name
        self.address = self._listener.address
        self._peers = Peers()

    @property
    def listener(self) -> Listener:
        return self._listener

    def serve_forever(self) -> None:
        """Serve until :meth:`close` (from another thread or a signal
        handler)."""
        self._listener.serve_forever(self._serve_connection)

    def _serve_connection(self, conn: Connection) -> None:
        peer = Peer(conn, self._registry.for_caller(conn.peer),
                    label=self.address,
                    max_workers=self._max_workers,
                    max_queued=self._max_queued)
        with self._peers.serving(peer.abort, self._listener.closed):
            try:
                ended = peer.run_reader()
            finally:
                peer.join_writer()     # before the Listener closes conn
        raise_unless_clean(ended)      # reported by the Listener

    def close(self) -> None:
        """Stop accepting and close every connection (running functions see
        their cancel token set; their results are dropped)."""
        self._listener.close()
        self._peers.abort_all()

    @property
    def closed(self) -> bool:
        return self._listener.closed

    def __enter__(self) -> RpcServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f'<RpcServer {self.address!r}>'


def serve(name: str, functions: Functions, **options: Any) -> None:
    """Serve *functions* on pipe *name* until interrupted (or until the
    server is closed); see :class:`RpcServer` for the options."""
    with RpcServer(name, functions, **options) as server:
        server.serve_forever()
