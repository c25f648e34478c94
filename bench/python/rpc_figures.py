"""Python remote-call figures of the NPipes benchmark (imported by npipes_bench.py, which runs them and their peers).

- ``py_rpc_threads_pingpong``: ``npipes.rpc``'s ``RpcClient.call('ping', n)`` against an ``npipes.rpc.RpcServer``
  (threads) in another process, next to a minimal JSON-RPC loop on a plain AF_UNIX socket: newline-delimited JSON,
  ``json.dumps``/``json.loads``, a dict of functions, blocking ``sendall`` and a buffered ``readline`` on both sides.
- ``py_aio_rpc_pingpong``: ``npipes.aio``'s ``RpcClient`` against ``npipes.aio.start_rpc_server``, next to the same
  minimal loop written with asyncio streams (``open_unix_connection``/``start_unix_server``).

Both npipes sides use the frame without CRC (npipes' default) and untyped functions (no hint checks); every reply is
compared with its request's sequence number, on both sides of each figure.  The raw loops do only what a JSON-RPC
call needs: a request object with ``jsonrpc``, ``id``, ``method``, ``params``; a reply with ``jsonrpc``, ``id``,
``result``.
"""

import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
import threading
import time


def ping(sequence):
    """The function both servers serve: the argument back."""
    return sequence


RAW_FUNCTIONS = {'ping': ping}


# ---- peers: each prints `ready` (through *ready*) once it listens, serves until its stdin closes, then returns ----

def _until_stdin_closes():
    sys.stdin.read()


def peer_rpc_threads(name, ready):
    from npipes import rpc
    server = rpc.RpcServer(name, {'ping': ping})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ready()
    _until_stdin_closes()
    server.close()
    thread.join(10)


def peer_rpc_aio(name, ready):
    from npipes import aio

    async def serve():
        server = await aio.start_rpc_server(name, {'ping': ping})
        ready()
        await asyncio.get_running_loop().run_in_executor(None, _until_stdin_closes)
        server.close()

    asyncio.run(serve())


def _raw_reply(line):
    request = json.loads(line)
    result = RAW_FUNCTIONS[request['method']](*request['params'])
    return json.dumps({'jsonrpc': '2.0', 'id': request['id'], 'result': result}).encode() + b'\n'


def peer_raw_json_threads(path, ready):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    ready()
    conn, _ = srv.accept()
    with conn, conn.makefile('rb') as lines:
        for line in lines:
            conn.sendall(_raw_reply(line))


def peer_raw_json_aio(path, ready):
    async def handle(reader, writer):
        while line := await reader.readline():
            writer.write(_raw_reply(line))
            await writer.drain()
        writer.close()

    async def serve():
        server = await asyncio.start_unix_server(handle, path)
        ready()
        await asyncio.get_running_loop().run_in_executor(None, _until_stdin_closes)
        server.close()

    asyncio.run(serve())


PEERS = {'rpc-threads': peer_rpc_threads, 'rpc-aio': peer_rpc_aio,
         'raw-json-threads': peer_raw_json_threads, 'raw-json-aio': peer_raw_json_aio}


# ---- the measuring side ----

def _count_calls(seconds, call):
    """Calls *call()* one after another for about *seconds*; returns how many calls were made."""
    n, end = 0, time.perf_counter() + seconds
    while True:
        call()
        n += 1
        if n % 64 == 0 and time.perf_counter() >= end:
            return n


async def _count_calls_async(seconds, call):
    """The same with *call()* awaited."""
    n, end = 0, time.perf_counter() + seconds
    while True:
        await call()
        n += 1
        if n % 64 == 0 and time.perf_counter() >= end:
            return n


def _check(n, reply):
    if reply != n:
        raise RuntimeError(f'rpc ping-pong: reply to {n} was {reply!r}')


def _raw_request(n):
    return json.dumps({'jsonrpc': '2.0', 'id': n, 'method': 'ping', 'params': [n]}).encode() + b'\n'


def _raw_result(n, line):
    reply = json.loads(line)
    if reply.get('id') != n:
        raise RuntimeError(f'raw JSON-RPC: reply id {reply.get("id")!r} for request {n}')
    return reply['result']


@contextlib.contextmanager
def _peers(bench, np_role, raw_role):
    """Starts the npipes peer on a new pipe name and the raw peer on a socket in a new private directory; yields
    (name, raw_path, np_peer, raw_peer) and closes both peers after (which collects their CPU time)."""
    name = bench._name()
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = os.path.join(tmp, 'raw.sock')
        np_peer = bench.python_peer(np_role, name)
        try:
            raw_peer = bench.python_peer(raw_role, raw_path)
            try:
                yield name, raw_path, np_peer, raw_peer
            finally:
                raw_peer.close()
        finally:
            np_peer.close()


def figure_rpc_threads(bench, runs, seconds):
    from npipes import rpc
    with _peers(bench, 'rpc-threads', 'raw-json-threads') as (name, raw_path, np_peer, raw_peer):
        client = rpc.connect(name, timeout=10)
        sock = bench.raw_client(raw_path)
        lines = sock.makefile('rb')
        seq = [0, 0]

        def np_call():
            seq[0] += 1
            _check(seq[0], client.call('ping', seq[0]))

        def raw_call():
            seq[1] += 1
            sock.sendall(_raw_request(seq[1]))
            _check(seq[1], _raw_result(seq[1], lines.readline()))

        np_side = bench.Side(lambda t: _count_calls(t, np_call))
        raw_side = bench.Side(lambda t: _count_calls(t, raw_call))
        bench.measure(runs, seconds, np_side, raw_side)
        client.close()
        lines.close()
        sock.close()
    bench.report('py_rpc_threads_pingpong', np_side, raw_side, np_peer, raw_peer, 'roundtrips/s',
                 'raw_is=json_lines_over_unix_socket_threads crc=off')


def figure_rpc_aio(bench, runs, seconds):
    from npipes import aio
    loop = asyncio.new_event_loop()
    with _peers(bench, 'rpc-aio', 'raw-json-aio') as (name, raw_path, np_peer, raw_peer):
        try:
            client = loop.run_until_complete(aio.RpcClient.connect(name, timeout=10))
            reader, writer = loop.run_until_complete(asyncio.open_unix_connection(raw_path))
            seq = [0, 0]

            async def np_call():
                seq[0] += 1
                _check(seq[0], await client.call('ping', seq[0]))

            async def raw_call():
                seq[1] += 1
                writer.write(_raw_request(seq[1]))
                await writer.drain()
                _check(seq[1], _raw_result(seq[1], await reader.readline()))

            np_side = bench.Side(lambda t: loop.run_until_complete(_count_calls_async(t, np_call)))
            raw_side = bench.Side(lambda t: loop.run_until_complete(_count_calls_async(t, raw_call)))
            bench.measure(runs, seconds, np_side, raw_side)
            loop.run_until_complete(client.aclose())
            writer.close()
            loop.run_until_complete(writer.wait_closed())
        finally:
            loop.close()
    bench.report('py_aio_rpc_pingpong', np_side, raw_side, np_peer, raw_peer, 'roundtrips/s',
                 'raw_is=json_lines_over_unix_socket_asyncio crc=off')


FIGURES = ['py_rpc_threads_pingpong', 'py_aio_rpc_pingpong']


def jobs(bench, runs, seconds):
    """(figure, job) pairs for npipes_bench.py's loop; *bench* is that module."""
    return [('py_rpc_threads_pingpong', lambda: figure_rpc_threads(bench, runs, seconds)),
            ('py_aio_rpc_pingpong', lambda: figure_rpc_aio(bench, runs, seconds))]
