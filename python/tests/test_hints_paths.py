"""Every path names the likely cause of a mismatch (npipes._hints, the
words of .NET's MismatchHint): a request or a remote call whose server
closed the connection (threaded and asyncio), a request cut off while it
was sent (a frame over the server's limit), and a shared-memory frame read
without shared memory."""

import asyncio
import subprocess
import sys
import threading
import unittest

from tests import support
from npipes import _hints, aio, rpc
from npipes._frames import check_header
from npipes._util import Deadline
from npipes.connection import connect
from npipes.errors import ConnectionClosedError, FrameError
from npipes.listener import Listener, echo_handler

T = 10
BIG = 4 * 1024 * 1024        # more than a socket buffer: the send is cut


def _threaded_server(test, **options):
    """An echo Listener with *options* on its own thread; its name."""
    name = support.pipe_name()
    listener = Listener(name, **options)
    test.addCleanup(listener.close)
    threading.Thread(target=listener.serve_forever, args=(echo_handler,),
                     daemon=True).start()
    return name


def _rpc_server(test, **options):
    name = support.pipe_name()
    server = rpc.RpcServer(name, {'echo': lambda text: text}, **options)
    test.addCleanup(server.close)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return name


async def _aio_request(name, data):
    async with await aio.connect(name, timeout=T) as conn:
        return await conn.request(data)


async def _aio_call(name, text):
    client = await aio.RpcClient.connect(name, T)
    try:
        return await client.call('echo', text, timeout=T)
    finally:
        await client.aclose()


class RequestHintTests(unittest.TestCase):

    def _check(self, name, data, expected):
        for label, call in (
                ('threaded', lambda: connect(name, timeout=T).request(data)),
                ('asyncio', lambda: asyncio.run(_aio_request(name, data)))):
            with self.subTest(client=label):
                with self.assertRaises(ConnectionClosedError) as caught:
                    call()
                self.assertIn(expected, str(caught.exception))
                self.assertIn(_hints.SERVER_CLOSES, str(caught.exception))

    def test_a_crc_mismatch_names_the_settings(self):
        self._check(_threaded_server(self, crc=True), b'hi',
                    'the server closed the connection without replying')

    def test_a_request_over_the_servers_limit_names_the_settings(self):
        self._check(_threaded_server(self, max_payload=1000), b'x' * BIG,
                    'the server closed the connection before it read the '
                    'whole request')


class RpcHintTests(unittest.TestCase):

    def _check(self, name, text):
        for label, call in (
                ('threaded', lambda: rpc.connect(name, T).call(
                    'echo', text, timeout=T)),
                ('asyncio', lambda: asyncio.run(_aio_call(name, text)))):
            with self.subTest(client=label):
                with self.assertRaises(ConnectionClosedError) as caught:
                    call()
                self.assertIn("connection lost before 'echo' was answered",
                              str(caught.exception))
                self.assertIn(_hints.SERVER_CLOSES, str(caught.exception))

    def test_a_server_with_crc_on_names_the_settings(self):
        self._check(_rpc_server(self, crc=True), 'hi')

    def test_a_call_over_the_servers_limit_names_the_settings(self):
        self._check(_rpc_server(self, max_payload=1000), 'x' * BIG)

    def test_the_cli_names_the_settings_and_exits_1(self):
        name = _rpc_server(self, crc=True)
        p = subprocess.run([sys.executable, '-m', 'npipes', 'rpc', 'call',
                            name, 'echo', '"hi"', '--timeout', '20'],
                           capture_output=True, text=True,
                           env=support.child_env(),
                           timeout=support.CHILD_TIMEOUT)
        self.assertEqual((p.returncode, p.stdout), (1, ''))
        self.assertEqual(p.stderr, "npipes: connection lost before 'echo' was "
                         f"answered: peer closed the pipe; "
                         f"{_hints.SERVER_CLOSES}\n")


class SharedMemoryHintTests(unittest.TestCase):
    # A descriptor frame: MessageLength (32 + 8) XOR 0x80000000, DataLength 32.

    def test_a_descriptor_frame_read_without_shared_memory_says_so(self):
        with self.assertRaises(FrameError) as caught:
            check_header(0x80000028, 32, 16 * 1024 * 1024)
        self.assertIn('The peer sends shared-memory frames '
                      '(docs/shared-memory.md): turn shared memory on here '
                      'too', str(caught.exception))
        self.assertNotIn('byte order', str(caught.exception))

    def test_with_data_length_unknown_a_length_just_above_the_bit_is_enough(self):
        self.assertTrue(_hints.is_shared_memory(0x80000028, None))
        self.assertTrue(_hints.is_shared_memory(0x80000000, None))
        self.assertFalse(_hints.is_shared_memory(0x80001000, None))
        self.assertFalse(_hints.is_shared_memory(0x7FFFFFFF, None))
        self.assertFalse(_hints.is_shared_memory(0x80000028, 33))
        self.assertTrue(_hints.is_shared_memory(0x28000080, 0x20000000))

    def test_an_ordinary_bad_header_gets_no_shared_memory_hint(self):
        with self.assertRaises(FrameError) as caught:
            check_header(100, 5, 16 * 1024 * 1024)
        self.assertNotIn('shared', str(caught.exception))

    def test_a_receiver_gets_the_hint_from_the_wire(self):
        name = support.pipe_name()
        got = []
        with Listener(name) as listener:
            def receive():
                with listener.accept(T) as conn:
                    try:
                        conn.recv(T)
                    except FrameError as exc:
                        got.append(str(exc))
            thread = threading.Thread(target=receive)
            thread.start()
            with connect(name, timeout=T) as conn:
                conn._stream.send(bytes.fromhex('80000028 00000020')
                                  + bytes(32) + bytes(4), Deadline(None))
                thread.join(T)
        self.assertEqual(len(got), 1)
        self.assertIn(_hints.SHARED_MEMORY, got[0])


if __name__ == '__main__':
    unittest.main()
