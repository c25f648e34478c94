"""npipes for asyncio: connections, servers, one-message IPC and remote calls
as coroutines, with the threaded API's errors, limits and security checks
(the endpoint code is the threaded API's own; see _aio_platform.py).

On Linux/macOS the pipes are the same Unix sockets; on Windows they are
named pipes on asyncio's proactor loop (the default loop there)::

    from npipes import aio

    async def echo(conn):
        while True:
            await conn.send(await conn.recv())

    server = await aio.start_server(echo, 'demo')
    async with await aio.connect('demo', timeout=5) as conn:
        print(await conn.request('hello', timeout=5))      # 'hello'
    await server.aclose()

    # one message, either side first (npipes' IPC)
    await aio.IPC('demo').send_message('Hello', crc=True)

    # remote calls (JSON-RPC 2.0, as npipes.rpc)
    rpc_server = await aio.start_rpc_server('calc', {'add': add})
    async with await aio.RpcClient.connect('calc', timeout=5) as client:
        print(await client.call('add', 2, 3, timeout=5))
"""

from ._aio_connection import Connection, connect
from ._aio_rpc import RpcClient, RpcServer, start_rpc_server
from ._aio_ipc import IPC
from ._aio_server import Listener, start_server
from ._jsonrpc import (JsonInput, JsonValue, RemoteError,
                       RequestCancelledError)
from ._rpctargets import AsyncCancelToken, CancelToken, Functions
from .sharedmemory import AsyncOutgoingMessage

__all__ = ['Connection', 'connect', 'Listener', 'start_server', 'IPC',
           'RpcClient', 'RpcServer', 'start_rpc_server', 'RemoteError',
           'RequestCancelledError', 'CancelToken', 'AsyncCancelToken',
           'JsonValue', 'JsonInput', 'Functions', 'AsyncOutgoingMessage']
