"""docs/rpc.md §6, both drivers: an invalid message (not UTF-8 JSON, a
batch, nesting too deep, an id that is not an int within +-2**53 or a
string, a response to no request, ...) closes the connection without a
reply, and every call pending on it fails at once (not at its timeout)."""

import asyncio
import gc
import json
import threading
import unittest

from tests import support
from npipes import aio, rpc
from npipes._jsonrpc import InvalidMessageError
from npipes.connection import connect
from npipes.errors import ConnectionClosedError
from npipes.listener import Listener

T = 10

#: Payloads that close the connection: what .NET's ProtocolTests send, and
#: those of issue 22.
INVALID = [b'not json', b'', b'\xff\xfe', b'[' * 100000, b'{"a":' * 100000,
           b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"add",'
           b'"params":[1,2]}',
           b'{"jsonrpc":"2.0","id":1,"method":"add","params":[NaN,1]}',
           b'[1,2]', b'[{"jsonrpc":"2.0","id":1,"method":"add",'
           b'"params":[1,2]}]',
           b'{"id":5,"method":"add","params":[1,2]}',
           b'{"jsonrpc":"2.0","id":6,"method":"add","params":3}',
           b'{"jsonrpc":"2.0","id":1}',
           b'{"jsonrpc":"2.0","id":77,"result":3}',
           b'{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"x"}}'] + [
    b'{"jsonrpc":"2.0","id":%s,"method":"add","params":[1,2]}' % id
    for id in (b'1e999', b'1.5', b'2.0', b'true', b'[1]', b'{}',
               b'9007199254740993', b'-9007199254740993')]

#: Still answered, and the connection stays.
ANSWERED = [(b'{"jsonrpc":"2.0","id":8,"method":"add","params":'
             b'{"a":1,"c":2}}', 8, rpc.INVALID_PARAMS),
            (b'{"jsonrpc":"2.0","id":9007199254740992,"method":"nope"}',
             2 ** 53, rpc.METHOD_NOT_FOUND),
            (b'{"jsonrpc":"2.0","id":null,"method":"nope"}', None,
             rpc.METHOD_NOT_FOUND)]


def add(a: int, b: int) -> int:
    return a + b


class ThreadedServerTests(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()
        self.server = rpc.RpcServer(self.name, {'add': add})
        thread = threading.Thread(target=self.server.serve_forever)
        thread.start()
        self.addCleanup(thread.join, T)
        self.addCleanup(self.server.close)

    def test_invalid_messages_close_without_reply(self):
        for payload in INVALID:
            with self.subTest(payload=payload[:60]), \
                    connect(self.name, timeout=T) as raw:
                raw.send(payload)
                with self.assertRaises(ConnectionClosedError):
                    raw.recv(timeout=T)

    def test_bad_calls_are_answered_and_the_connection_stays(self):
        with connect(self.name, timeout=T) as raw:
            for payload, id, code in ANSWERED:
                raw.send(payload)
                reply = json.loads(raw.recv(timeout=T))
                self.assertEqual((reply['id'], reply['error']['code']),
                                 (id, code))
            raw.send(b'{"jsonrpc":"2.0","id":"s","method":"add",'
                     b'"params":[1,2]}')
            self.assertEqual(json.loads(raw.recv(timeout=T))['result'], 3)


class AioServerTests(unittest.TestCase):

    def test_invalid_messages_close_without_reply_and_no_stray_errors(self):
        name = support.pipe_name()
        stray = []

        async def main():
            asyncio.get_running_loop().set_exception_handler(
                lambda loop, context: stray.append(context))
            server = await aio.start_rpc_server(name, {'add': add})
            try:
                for payload in INVALID:
                    conn = await aio.connect(name, timeout=T)
                    try:
                        await conn.send(payload)
                        with self.assertRaises(ConnectionClosedError,
                                               msg=payload[:60]):
                            await conn.recv(timeout=T)
                    finally:
                        await conn.aclose()
                conn = await aio.connect(name, timeout=T)
                for payload, id, code in ANSWERED:
                    await conn.send(payload)
                    reply = json.loads(await conn.recv(timeout=T))
                    self.assertEqual((reply['id'], reply['error']['code']),
                                     (id, code))
                await conn.aclose()
            finally:
                server.close()
            gc.collect()         # "Task exception was never retrieved"
            await asyncio.sleep(0)

        asyncio.run(asyncio.wait_for(main(), T * 3))
        self.assertEqual(stray, [])


class BadReplyServer:
    """A server that answers the first request with *reply* (raw)."""

    def __init__(self, reply):
        self.name = support.pipe_name()
        self.listener = Listener(self.name)
        self.thread = threading.Thread(target=self._serve, args=(reply,))
        self.thread.start()

    def _serve(self, reply):
        with self.listener.accept(T) as conn:
            conn.recv(timeout=T)
            conn.send(reply)
            try:
                conn.recv(timeout=T)        # until the client closes
            except ConnectionClosedError:
                pass

    def close(self):
        self.thread.join(T)
        self.listener.close()


BAD_REPLIES = [b'\xff\xfe', b'[' * 100000,
               b'[{"jsonrpc":"2.0","id":1,"result":3}]',
               b'{"jsonrpc":"2.0","id":1e999,"result":3}',
               b'{"jsonrpc":"2.0","id":99,"result":3}']


class ClientTests(unittest.TestCase):
    """A pending call fails at once (ConnectionClosedError, caused by
    InvalidMessageError) when the reply is invalid: not at its timeout."""

    def check(self, exc):
        self.assertIsInstance(exc, ConnectionClosedError)
        self.assertIsInstance(exc.__cause__, InvalidMessageError)

    def test_threaded_client(self):
        for reply in BAD_REPLIES:
            with self.subTest(reply=reply[:40]):
                server = BadReplyServer(reply)
                self.addCleanup(server.close)
                with rpc.connect(server.name, timeout=T) as client:
                    with self.assertRaises(Exception) as cm:
                        client.call('add', 1, 2, timeout=T * 6)
                    self.check(cm.exception)
                    self.assertTrue(client.closed)

    def test_asyncio_client(self):
        async def one(reply):
            server = BadReplyServer(reply)
            try:
                client = await aio.RpcClient.connect(server.name, timeout=T)
                try:
                    with self.assertRaises(Exception) as cm:
                        await client.call('add', 1, 2, timeout=T * 6)
                    self.check(cm.exception)
                    self.assertTrue(client.closed)
                finally:
                    await client.aclose()
            finally:
                await asyncio.get_running_loop().run_in_executor(
                    None, server.close)

        for reply in BAD_REPLIES:
            with self.subTest(reply=reply[:40]):
                asyncio.run(asyncio.wait_for(one(reply), T * 3))


if __name__ == '__main__':
    unittest.main()
