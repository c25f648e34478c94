"""npipes.aio: connections, listeners, IPC and remote calls on asyncio, with
the threaded API's errors, limits and peer checks (and its wire format: the
two talk to each other)."""

import asyncio
import json
import os
import signal
import string
import threading
import unittest
from unittest import mock

from tests import support
from npipes import _unix, aio, rpc
from npipes.access import UNKNOWN
from npipes.connection import connect as connect_threaded
from npipes.errors import (ConnectionClosedError, CrcMismatchError,
                           FrameTooLargeError, IncompleteFrameError,
                           PipeAccessError, PipeNameInUseError,
                           PipeTimeoutError)
from npipes.ipc import IPC as ThreadedIPC
from npipes.listener import Listener as ThreadedListener, echo_handler
from npipes.message import encode_frame

T = 10
MiB = 1024 * 1024


def run(coro):
    """Run *coro* on a fresh loop, bounded."""
    return asyncio.run(asyncio.wait_for(coro, T * 3))


async def echo(conn):
    while True:
        await conn.send(await conn.recv())


class ConnectionTests(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()

    def test_echo_request_and_large_frames(self):
        async def main():
            server = await aio.start_server(echo, self.name, crc=True)
            async with server:
                async with await aio.connect(self.name, timeout=T,
                                             crc=True) as c:
                    self.assertEqual(await c.request('hello', timeout=T),
                                     'hello')
                    for i in range(10):
                        await c.send(f'm{i}')
                    for i in range(10):
                        self.assertEqual(await c.recv_text(timeout=T), f'm{i}')
                    big = os.urandom(3 * MiB)
                    self.assertEqual(await c.request(big, timeout=T), big)
                    self.assertEqual(server.active_connections, 1)
        run(main())

    def test_interop_with_the_threaded_api(self):
        """Same wire format: aio client -> threaded server, threaded client
        -> aio server."""
        with ThreadedListener(self.name, endian='little') as lis:
            t = threading.Thread(target=lis.serve_forever,
                                 args=(echo_handler,), daemon=True)
            t.start()

            async def client():
                async with await aio.connect(self.name, timeout=T,
                                             endian='little') as c:
                    return await c.request(b'to threaded', timeout=T)
            self.assertEqual(run(client()), b'to threaded')
        name2 = support.pipe_name()

        async def server():
            srv = await aio.start_server(echo, name2)
            async with srv:
                def threaded_client():
                    with connect_threaded(name2, timeout=T) as c:
                        return c.request('to aio', timeout=T)
                return await asyncio.get_running_loop().run_in_executor(
                    None, threaded_client)
        self.assertEqual(run(server()), 'to aio')

    def test_connect_timeout_and_cancellation(self):
        async def main():
            with self.assertRaises(PipeTimeoutError):
                await aio.connect(self.name, timeout=0.2)
            task = asyncio.ensure_future(aio.connect(self.name))
            await asyncio.sleep(0)             # it starts waiting
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
        run(main())

    def test_frame_errors_are_typed(self):
        async def main():
            lis = await aio.Listener.create(self.name, crc=True,
                                            max_payload=1000)
            async with lis:
                raw = connect_threaded(self.name, timeout=T, crc=True)
                conn = await lis.accept(timeout=T)
                bad = bytearray(encode_frame(b'Hello', crc=True))
                bad[-1] ^= 1
                raw._stream.send(bytes(bad), support_deadline())
                with self.assertRaises(CrcMismatchError):
                    await conn.recv(timeout=T)
                raw.send(b'next')
                self.assertEqual(await conn.recv(timeout=T), b'next')
                with self.assertRaises(FrameTooLargeError):
                    await conn.send(b'x' * 1001)
                raw._stream.send(encode_frame(b'y' * 5000, max_payload=None),
                                 support_deadline())
                with self.assertRaises(FrameTooLargeError):
                    await conn.recv(timeout=T)
                conn.close()
                raw.close()
                conn2_task = asyncio.ensure_future(lis.accept(timeout=T))
                raw2 = connect_threaded(self.name, timeout=T)
                conn2 = await conn2_task
                raw2._stream.send(encode_frame(b'abc')[:6], support_deadline())
                raw2.close()
                with self.assertRaises(IncompleteFrameError):
                    await conn2.recv(timeout=T)
                await conn2.aclose()
        run(main())

    def test_listener_limits(self):
        async def main():
            lis = await aio.Listener.create(self.name, max_connections=1,
                                            idle_timeout=0.2)
            async with lis:
                first = connect_threaded(self.name, timeout=T)
                conn = await lis.accept(timeout=T)
                second = connect_threaded(self.name, timeout=T)
                with self.assertRaises(PipeTimeoutError):
                    await lis.accept(timeout=0.3)      # refuses `second`
                self.assertEqual(lis.refused_connections, 1)
                with self.assertRaises(ConnectionClosedError):
                    second.recv(timeout=T)
                with self.assertRaises(ConnectionClosedError) as cm:
                    await conn.recv(timeout=T)          # silent: idle
                self.assertEqual(cm.exception.reason, 'idle timeout')
                self.assertEqual(lis.active_connections, 0)
                first.close()
                second.close()
        run(main())

    def test_name_in_use_and_socket_removed_on_close(self):
        async def main():
            lis = await aio.Listener.create(self.name)
            path = lis.address
            with self.assertRaises(PipeNameInUseError):
                await aio.Listener.create(self.name)
            await lis.aclose()
            self.assertFalse(os.path.exists(path))
        run(main())

    @unittest.skipUnless(support.IS_UNIX, 'Unix peer credentials')
    def test_peer_check_on_both_sides(self):
        """An unreadable peer uid is refused by the client and dropped
        unread by the listener (which counts it), as in the threaded API."""
        async def main():
            lis = await aio.Listener.create(self.name)
            async with lis:
                with mock.patch.object(_unix, 'peer_identity',
                                       return_value=UNKNOWN):
                    with self.assertRaises(PipeAccessError):
                        await aio.connect(self.name, timeout=T)
                    c = connect_threaded(self.name, timeout=T,
                                         allow_other_users=True)
                    with self.assertRaises(PipeTimeoutError):
                        await lis.accept(timeout=0.5)
                    with self.assertRaises(ConnectionClosedError):
                        c.recv(timeout=T)
                    c.close()
                self.assertEqual(lis.refused_peers, 2)
        run(main())


class OtherUserTests(unittest.TestCase):
    """With a second OS account (root only): the aio endpoints refuse
    another user as the threaded ones do."""

    @classmethod
    def setUpClass(cls):
        from tests import other_user
        cls.other_user = other_user
        cls.user = other_user.account()

    def test_listener_drops_another_users_client_unread(self):
        from tests.test_endpoint_users import CLIENT
        name = support.pipe_name()

        async def main():
            lis = await aio.Listener.create(name)
            async with lis:
                os.chmod(lis.address, 0o666)   # as if an admin opened it
                accept = asyncio.ensure_future(lis.accept(timeout=T))
                child = self.other_user.spawn_as(self.user, CLIENT, name, 1)
                loop = asyncio.get_running_loop()
                code, out, err = await loop.run_in_executor(
                    None, support.finish, child)
                self.assertEqual(code, 0, err)
                self.assertIn(out.strip(), ('ConnectionClosedError',
                                            'ConnectionResetError'))
                self.assertEqual(lis.refused_peers, 1)
                self.assertFalse(accept.done())
                async with await aio.connect(name, timeout=T) as mine:
                    conn = await accept
                    await mine.send('mine')
                    self.assertEqual(await conn.recv_text(timeout=T), 'mine')
                    await conn.aclose()
        run(main())

    def test_connect_refuses_another_users_server(self):
        name = support.pipe_name()
        squatter = self.other_user.Squatter(self.user,
                                            _unix.pipe_address(name))
        self.addCleanup(squatter.__exit__)

        async def main():
            with self.assertRaises(PipeAccessError) as cm:
                await aio.connect(name, timeout=T)
            self.assertEqual(cm.exception.uid, self.user[0])
            with self.assertRaises(PipeAccessError):
                await aio.IPC(name, timeout=T).send_message('secret')
        run(main())
        self.assertEqual(squatter.counts(), [0, 0])


def support_deadline():
    from npipes._util import Deadline
    return Deadline(T)


class IpcTests(unittest.TestCase):

    def test_either_side_first_with_crc(self):
        for receiver_first in (True, False):
            with self.subTest(receiver_first=receiver_first):
                name = support.pipe_name()

                async def main():
                    rx = aio.IPC(name, timeout=T)
                    tx = aio.IPC(name, timeout=T)
                    if receiver_first:
                        r = asyncio.ensure_future(rx.receive_message(crc=True))
                        await asyncio.sleep(0)
                        sent = await tx.send_message('hi', crc=True)
                        return sent, await r
                    s = asyncio.ensure_future(tx.send_message('hi', crc=True))
                    await asyncio.sleep(0)
                    got = await rx.receive_message(crc=True)
                    return await s, got
                self.assertEqual(run(main()), (True, 'hi'))

    def test_with_the_threaded_ipc(self):
        name = support.pipe_name()

        async def main():
            loop = asyncio.get_running_loop()
            rx = loop.run_in_executor(
                None, lambda: ThreadedIPC(name, timeout=T)
                .receive_message(crc=True))
            self.assertTrue(await aio.IPC(name, timeout=T)
                            .send_message('to threaded', crc=True))
            return await rx
        self.assertEqual(run(main()), 'to threaded')

    def test_timeout_and_raise_errors_false(self):
        async def main():
            with self.assertRaises(PipeTimeoutError):
                await aio.IPC(support.pipe_name(), timeout=0.2)\
                    .receive_message()
            ipc = aio.IPC(support.pipe_name(), timeout=0.2,
                          raise_errors=False)
            self.assertEqual(await ipc.receive_message(), '')
            self.assertIsInstance(ipc.last_error, PipeTimeoutError)
        run(main())


# -- remote calls --------------------------------------------------------------

class Target:
    def __init__(self):
        self.cancelled = None           # an asyncio.Event, made in the loop
        self.started = None
        self.notes = None

    def bind_loop(self):
        self.cancelled = asyncio.Event()
        self.started = asyncio.Event()
        self.notes = asyncio.Queue()

    async def block_token(self, cancel):
        """Declares `cancel`: gets an AsyncCancelToken."""
        self.started.set()
        await asyncio.wait_for(cancel.wait(), T)
        self.cancelled.set()
        cancel.raise_if_cancelled()

    async def block_task(self):
        """No `cancel`: cancelled as a task."""
        self.started.set()
        try:
            await asyncio.sleep(T)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def note(self, text):
        await self.notes.put(text)


def fail(code: int, message: str):
    raise rpc.RemoteError(code, message)


class AioRpcTests(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()

    async def serve(self, functions, **options):
        server = await aio.start_rpc_server(self.name, functions, **options)
        client = await aio.RpcClient.connect(self.name, timeout=T,
                                             crc=options.get('crc', False),
                                             max_payload=options.get(
                                                 'max_payload', 16 * MiB))
        return server, client

    def test_100_concurrent_calls_complete_out_of_order(self):
        async def main():
            turn, finished = [99], []
            cond = asyncio.Condition()

            async def in_turn(i: int) -> int:
                async with cond:
                    await asyncio.wait_for(
                        cond.wait_for(lambda: turn[0] == i), T)
                    finished.append(i)
                    turn[0] -= 1
                    cond.notify_all()
                return i * i

            server, client = await self.serve({'in_turn': in_turn})
            async with server, client:
                order = []

                async def one(i):
                    value = await client.call('in_turn', i, timeout=T)
                    order.append(i)
                    return value
                results = await asyncio.gather(*(one(i) for i in range(100)))
            self.assertEqual(results, [i * i for i in range(100)])
            self.assertEqual(finished, list(range(99, -1, -1)))
            self.assertLess(order.index(99), order.index(0))
        run(main())

    def test_remote_errors_with_codes_and_sync_functions(self):
        async def main():
            def add(a: float, b: float) -> float:
                return a + b

            def crash():
                raise ValueError('bad')
            server, client = await self.serve(
                {'add': add, 'fail': fail, 'crash': crash})
            async with server, client:
                self.assertEqual(await client.call('add', 1, 2, timeout=T), 3)
                self.assertEqual(await client.call('add', a=1, b=2), 3)
                for args, code in ((('fail', -32001, 'x'), -32001),
                                   (('nope',), rpc.METHOD_NOT_FOUND),
                                   (('add', 'x', 1), rpc.INVALID_PARAMS),
                                   (('crash',), rpc.INVOCATION_ERROR)):
                    with self.assertRaises(aio.RemoteError) as cm:
                        await client.call(*args, timeout=T)
                    self.assertEqual(cm.exception.code, code)
                with self.assertRaises(aio.RemoteError) as cm:
                    await client.call('crash', timeout=T)
                self.assertEqual(cm.exception.data,
                                 {'type': 'ValueError', 'message': 'bad'})
        run(main())

    def test_cancellation_reaches_the_function(self):
        """A timeout's $/cancelRequest sets the token of a function that
        takes one (even one that had not started yet); cancelling the
        awaiting task cancels the call too: through the token, or by
        cancelling an ``async def`` function's task."""
        for method in ('block_token', 'block_task'):
            with self.subTest(method=method):
                self.name = support.pipe_name()

                async def main():
                    target = Target()
                    target.bind_loop()
                    server, client = await self.serve(
                        {'block_token': target.block_token,
                         'block_task': target.block_task})
                    async with server, client:
                        if method == 'block_token':
                            with self.assertRaises(PipeTimeoutError):
                                await client.call(method, timeout=0.3)
                            await asyncio.wait_for(target.cancelled.wait(), T)
                            target.cancelled.clear()
                            target.started.clear()
                        call = asyncio.ensure_future(client.call(method))
                        await asyncio.wait_for(target.started.wait(), T)
                        call.cancel()
                        await asyncio.wait_for(target.cancelled.wait(), T)
                run(main())

    def test_cancelled_request_is_answered_minus_32800(self):
        async def main():
            target = Target()
            target.bind_loop()
            server = await aio.start_rpc_server(
                self.name, {'block_task': target.block_task})
            async with server:
                raw = await aio.connect(self.name, timeout=T)
                async with raw:
                    await raw.send(b'{"jsonrpc":"2.0","id":4,"method":'
                                   b'"block_task","params":[]}')
                    await asyncio.wait_for(target.started.wait(), T)
                    await raw.send(b'{"jsonrpc":"2.0","method":'
                                   b'"$/cancelRequest","params":{"id":4}}')
                    reply = json.loads(await raw.recv(timeout=T))
            self.assertEqual(reply['id'], 4)
            self.assertEqual(reply['error']['code'], rpc.REQUEST_CANCELLED)
        run(main())

    def test_notifications(self):
        async def main():
            target = Target()
            target.bind_loop()
            server, client = await self.serve({'note': target.note})
            async with server, client:
                await client.notify('note', 'n1')
                await client.notify('no_such_method', 1)
                self.assertEqual(await asyncio.wait_for(target.notes.get(), T),
                                 'n1')
        run(main())

    def test_10_MiB_argument_with_crc(self):
        text = (string.ascii_letters * (10 * MiB // 52 + 1))[:10 * MiB]

        async def main():
            async def echo_text(text: str) -> str:
                return text
            server, client = await self.serve({'echo': echo_text}, crc=True,
                                              max_payload=11 * MiB)
            async with server, client:
                return await client.call('echo', text, timeout=T * 2)
        self.assertEqual(run(main()), text)

    def test_interop_with_the_threaded_rpc(self):
        """aio client -> threaded server, threaded client -> aio server."""
        def add(a, b):
            return a + b
        server = rpc.RpcServer(self.name, {'add': add})
        t = threading.Thread(target=server.serve_forever)
        t.start()
        try:
            async def client():
                async with await aio.RpcClient.connect(self.name,
                                                       timeout=T) as c:
                    return await c.call('add', 20, 22, timeout=T)
            self.assertEqual(run(client()), 42)
        finally:
            server.close()
            t.join(T)
        self.name = support.pipe_name()

        async def aio_server():
            srv = await aio.start_rpc_server(self.name, {'add': add})
            async with srv:
                def threaded():
                    with rpc.connect(self.name, timeout=T) as c:
                        return c.call('add', 1, 2, timeout=T)
                return await asyncio.get_running_loop().run_in_executor(
                    None, threaded)
        self.assertEqual(run(aio_server()), 3)

    @unittest.skipUnless(support.IS_UNIX, 'kills with SIGKILL')
    def test_server_killed_mid_call_fails_every_pending_call_typed(self):
        from tests.test_rpc import (WAITER, readline,
                                    remove_socket_of_killed_server)
        server = support.spawn_python(WAITER, self.name)
        self.addCleanup(remove_socket_of_killed_server, self.name)
        self.addCleanup(lambda: server.poll() is None and server.kill())
        self.assertEqual(readline(server), 'ready')

        async def main():
            client = await aio.RpcClient.connect(self.name, timeout=T)
            async with client:
                calls = [asyncio.ensure_future(client.call('wait'))
                         for _ in range(5)]
                loop = asyncio.get_running_loop()
                for _ in range(5):
                    line = await loop.run_in_executor(None, readline, server)
                    self.assertEqual(line, 'started')
                server.send_signal(signal.SIGKILL)
                return await asyncio.gather(*calls, return_exceptions=True)
        outcomes = run(main())
        server.communicate(timeout=T)
        self.assertEqual(len(outcomes), 5)
        for exc in outcomes:
            self.assertIsInstance(exc, ConnectionClosedError)
            self.assertEqual(exc.reason, 'peer closed')


if __name__ == '__main__':
    unittest.main()
