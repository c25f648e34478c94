"""JSON-RPC for asyncio: the twin of rpc.py's client and server (the engine
is _aio_rpcpeer.py)."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union, cast

from . import _jsonrpc as rpc
from ._contract.names import AS_IS, CAMEL_CASE, NameTransform
from ._contract.proxy import async_proxy
from ._contract.service import DISCOVER_METHOD
from ._aio_connection import Connection
from ._aio_platform import Background
from ._aio_rpcpeer import Peer
from ._rpcdispatch import (DEFAULT_MAX_QUEUED, DEFAULT_MAX_WORKERS, Peers,
                           check_limits, raise_unless_clean)
from ._aio_server import Listener
from ._jsonrpc import JsonInput, JsonValue
from ._rpctargets import Functions, Registry, client_peer
from .consts import DEFAULT_PIPE_NAME

__all__ = ['RpcClient', 'RpcServer', 'start_rpc_server']

T = TypeVar('T')


class RpcClient:
    """JSON-RPC calls over one :class:`npipes.aio.Connection` (taken over):
    the asyncio twin of :class:`npipes.rpc.RpcClient`.  Any number of tasks
    may ``await call(...)`` at once; replies are matched by id.  Create it
    inside a running loop (it starts its reader task)."""

    def __init__(self, connection: Connection, functions: Functions = None,
                 *, max_workers: int = DEFAULT_MAX_WORKERS,
                 max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        self.connection = connection
        self._peer = client_peer(Peer, connection, functions,
                                 f'aio rpc client {id(self):x}',
                                 max_workers=max_workers,
                                 max_queued=max_queued)
        self._peer.start()

    @classmethod
    async def connect(cls, name: str = DEFAULT_PIPE_NAME,
                      timeout: Optional[float] = None, *,
                      functions: Functions = None,
                      **options: Any) -> RpcClient:
        """Connect to the JSON-RPC server of pipe *name* (options as
        :func:`npipes.aio.connect`)."""
        conn = await Connection.connect(name, timeout, **options)
        try:
            return cls(conn, functions)
        except BaseException:
            await conn.aclose()
            raise

    async def call(self, method: str, *args: JsonInput,
                   timeout: Optional[float] = None,
                   **named: JsonInput) -> JsonValue:
        """As :meth:`npipes.rpc.RpcClient.call`.  Cancelling the awaiting
        task also sends ``$/cancelRequest``."""
        params = rpc.params_of(method, args, named)
        return await self._peer.call(method, params, timeout)

    def proxy(self, protocol: Callable[..., T], *,
              timeout: Optional[float] = None,
              methods: NameTransform = AS_IS,
              members: NameTransform = CAMEL_CASE) -> T:
        """As :meth:`npipes.rpc.RpcClient.proxy`, for a protocol of
        ``async def`` methods: ``await calc.add(1, 2)``."""
        async def send(method: str,
                       params: Union[List[object], Dict[str, object]]
                       ) -> object:
            return await self._peer.call(method, cast(rpc.OutParams, params),
                                         timeout)
        return async_proxy(protocol, send, methods=methods, members=members)

    async def describe(self, timeout: Optional[float] = None) -> JsonValue:
        """The server's OpenRPC document (``rpc.discover``)."""
        return await self.call(DISCOVER_METHOD, timeout=timeout)

    async def notify(self, method: str, *args: JsonInput,
                     timeout: Optional[float] = None,
                     **named: JsonInput) -> None:
        params = rpc.params_of(method, args, named)
        await self._peer.notify(method, params, timeout)

    @property
    def closed(self) -> bool:
        return self._peer.closed

    async def aclose(self) -> None:
        """Close; calls still waiting fail with ConnectionClosedError."""
        await self._peer.aclose()

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class RpcServer(Background):
    """Serve *functions* over JSON-RPC on a pipe: the asyncio twin of
    :class:`npipes.rpc.RpcServer` (same options; create it with
    ``await RpcServer.create(...)`` or :func:`start_rpc_server`)."""

    def __init__(self, listener: Listener, registry: Registry,
                 max_workers: int, max_queued: int) -> None:
        self._listener = listener
        self._registry = registry
        self._max_workers, self._max_queued = max_workers, max_queued
        self._peers = Peers()
        self.name = listener.name
        self.address = listener.address

    @classmethod
    async def create(cls, name: str, functions: Functions, *,
                     max_workers: int = DEFAULT_MAX_WORKERS,
                     max_queued: int = DEFAULT_MAX_QUEUED,
                     methods: NameTransform = AS_IS,
                     members: NameTransform = CAMEL_CASE,
                     **options: Any) -> RpcServer:
        """Serve *functions* on pipe *name* (the Listener's options and
        *methods*/*members*, as :class:`npipes.rpc.RpcServer`)."""
        registry = Registry(functions, methods=methods, members=members,
                            name=name)
        check_limits(max_workers, max_queued)
        listener = await Listener.create(name, **options)
        return cls(listener, registry, max_workers, max_queued)

    @property
    def listener(self) -> Listener:
        return self._listener

    async def serve_forever(self) -> None:
        await self._listener.serve_forever(self._serve_connection)

    async def _serve_connection(self, conn: Connection) -> None:
        peer = Peer(conn, self._registry.for_caller(conn.peer),
                    label=self.address,
                    max_workers=self._max_workers,
                    max_queued=self._max_queued)
        with self._peers.serving(peer.abort, self._listener.closed):
            ended = await peer.run_reader()
        raise_unless_clean(ended)

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._listener.close()
        self._peers.abort_all()


async def start_rpc_server(name: str, functions: Functions,
                           **options: Any) -> RpcServer:
    """Create an :class:`RpcServer` (the same options as
    :meth:`RpcServer.create`) serving in the background."""
    server = await RpcServer.create(name, functions, **options)
    server.serve_in_background(server.serve_forever())
    return server
