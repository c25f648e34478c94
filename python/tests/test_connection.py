"""Connection and Listener: many frames, large frames, many clients, errors."""

import struct
import threading
import unittest

from tests import support
from npipes._util import Deadline
from npipes.connection import Connection, connect
from npipes.errors import (ConnectionClosedError, CrcMismatchError,
                           FrameError, FrameTooLargeError,
                           IncompleteFrameError, NPipesError,
                           PipeTimeoutError)
from npipes.listener import Listener, echo_handler
from npipes.message import encode_frame

T = 10          # generous per-operation timeout; tests finish far sooner

CLIENT = '''
import sys
from npipes.connection import Connection
with Connection.connect(sys.argv[1], timeout=10, crc=True) as c:
    for i in range(int(sys.argv[2])):
        assert c.request(f"child {i}", timeout=10) == f"child {i}"
print("ok")
'''


class EchoServerTests(unittest.TestCase):
    """A Listener running serve_forever(echo_handler) in a thread."""

    def setUp(self):
        self.name = support.pipe_name()
        self.listener = Listener(self.name, crc=True)
        self.thread = threading.Thread(
            target=self.listener.serve_forever, args=(echo_handler,))
        self.thread.start()

    def tearDown(self):
        self.listener.close()
        support.join(self.thread, T)          # serve_forever stops on close

    def test_many_messages_one_connection(self):
        with connect(self.name, timeout=T, crc=True) as c:
            for i in range(300):
                self.assertEqual(c.request(f'message {i}', timeout=T), f'message {i}')
            # pipelined: many sends before the replies are read
            for i in range(100):
                c.send(bytes([i % 256]) * i)
            for i in range(100):
                self.assertEqual(c.recv(timeout=T), bytes([i % 256]) * i)

    def test_large_messages(self):
        with connect(self.name, timeout=T, crc=True) as c:
            for size in (65535, 65536, 65537, 5 * 1024 * 1024 + 3):
                data = bytes(range(256)) * (size // 256) + b'z' * (size % 256)
                self.assertEqual(c.request(data, timeout=T), data)

    def test_multiple_clients_threads_and_processes(self):
        procs = [support.spawn_python(CLIENT, self.name, 50) for _ in range(2)]
        errors = []

        def client(k):
            try:
                with connect(self.name, timeout=T, crc=True) as c:
                    for i in range(100):
                        if c.request(f'{k}:{i}', timeout=T) != f'{k}:{i}':
                            errors.append((k, i))
            except Exception as exc:
                errors.append(exc)
        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            support.join(t, T)
        self.assertEqual(errors, [])
        for p in procs:
            code, out, err = support.finish(p)
            self.assertEqual((code, out), (0, 'ok\n'), err)

    def test_frame_split_across_writes(self):
        frame = encode_frame(b'split me', crc=True)
        with connect(self.name, timeout=T, crc=True) as c:
            from npipes._util import Deadline
            for i in range(len(frame)):                # one byte per write
                c._stream.send(frame[i:i + 1], Deadline(T))
            self.assertEqual(c.recv(timeout=T), b'split me')


class ConnectionErrorTests(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()
        self.listener = Listener(self.name)
        self.addCleanup(self.listener.close)

    def pair(self, **client_options):
        """(server side, client side) of one connection."""
        result = {}
        t = threading.Thread(target=lambda: result.setdefault(
            'c', connect(self.name, timeout=T, **client_options)))
        t.start()
        server = self.listener.accept(timeout=T)
        support.join(t, T)
        self.addCleanup(server.close)
        self.addCleanup(result['c'].close)
        return server, result['c']

    def test_clean_eof_between_frames(self):
        server, client = self.pair()
        client.send('last')
        client.close()
        self.assertEqual(server.recv_text(timeout=T), 'last')
        with self.assertRaises(ConnectionClosedError) as cm:
            server.recv(timeout=T)
        self.assertIsInstance(cm.exception, EOFError)

    def test_eof_mid_frame(self):
        for cut in (3, 8, 10):            # in the header, at its end, in data
            with self.subTest(cut=cut):
                server, client = self.pair()
                from npipes._util import Deadline
                client._stream.send(encode_frame(b'Hello')[:cut], Deadline(T))
                client.close()
                with self.assertRaises(IncompleteFrameError):
                    server.recv(timeout=T)

    def test_timeout_keeps_partial_frame(self):
        server, client = self.pair()
        with self.assertRaises(PipeTimeoutError):
            server.recv(timeout=0.05)
        from npipes._util import Deadline
        frame = encode_frame(b'patience')
        client._stream.send(frame[:10], Deadline(T))
        with self.assertRaises(PipeTimeoutError):
            server.recv(timeout=0.05)
        client._stream.send(frame[10:], Deadline(T))
        self.assertEqual(server.recv(timeout=T), b'patience')

    def test_crc_mismatch_then_next_frame(self):
        server, client = self.pair()
        server.crc = server._decoder.crc = True
        bad = bytearray(encode_frame(b'Hello', crc=True))
        bad[10] ^= 0xFF
        from npipes._util import Deadline
        client._stream.send(bytes(bad) + encode_frame(b'ok', crc=True), Deadline(T))
        with self.assertRaises(CrcMismatchError):
            server.recv(timeout=T)
        self.assertEqual(server.recv(timeout=T), b'ok')

    def test_too_large_refused_from_header(self):
        server, client = self.pair()
        server._decoder.max_payload = 1000
        from npipes._util import Deadline
        # only a header announcing 3 GiB is sent: must fail without waiting
        client._stream.send(struct.pack('>II', 3 << 30 | 8, 3 << 30), Deadline(T))
        with self.assertRaises(FrameTooLargeError):
            server.recv(timeout=T)
        with self.assertRaises(FrameError):
            server.recv(timeout=T)               # stream is out of step now
        small = Connection(client._stream, max_payload=10)
        with self.assertRaises(FrameTooLargeError):
            small.send(b'x' * 11)

    def test_bad_lengths(self):
        server, client = self.pair()
        from npipes._util import Deadline
        client._stream.send(struct.pack('>II', 20, 5) + b'x' * 16, Deadline(T))
        with self.assertRaisesRegex(FrameError, 'MessageLength 20'):
            server.recv(timeout=T)

    def test_send_after_peer_closed(self):
        server, client = self.pair()
        server.close()
        with self.assertRaises(ConnectionClosedError):
            for _ in range(100):          # the first write may be buffered
                client.send(b'x' * 65536, timeout=T)

    def test_little_endian(self):
        name = support.pipe_name()
        with Listener(name, endian='little') as listener:
            with connect(name, timeout=T, endian='little') as client, \
                    listener.accept(timeout=T) as server:
                client.send('hi')
                self.assertEqual(server.recv(timeout=T), b'hi')
                server.send(b'back')
                self.assertEqual(client.recv(timeout=T), b'back')

    def test_accept_and_connect_timeouts(self):
        with self.assertRaises(PipeTimeoutError):
            self.listener.accept(timeout=0.05)
        with self.assertRaises(PipeTimeoutError):
            connect(support.pipe_name(), timeout=0.05)

    def test_connect_before_listener_exists(self):
        name = support.pipe_name()
        got = {}
        t = threading.Thread(target=lambda: got.setdefault(
            'c', connect(name, timeout=T)))
        t.start()
        with Listener(name) as listener:
            with listener.accept(timeout=T) as server:
                support.join(t, T)
                with got['c'] as client:
                    client.send('ping')
                    self.assertEqual(server.recv_text(timeout=T), 'ping')

    def test_closed_connection(self):
        server, client = self.pair()
        client.close()
        self.assertTrue(client.closed)
        client.close()                    # idempotent
        with self.assertRaises(NPipesError):
            client.send('x')


class ClosedByAnotherThreadTests(unittest.TestCase):
    """close() from another thread while a send or receive runs: that call
    fails as closed by this side (ConnectionClosedError, reason 'closed', as
    the asyncio driver's; or, landing between calls, the next one as after
    close), never with the socket's EBADF (PipeOSError) or as the peer's
    doing ('peer closed', IncompleteFrameError), and never hangs."""

    ROUNDS = 20

    def pair(self):
        name = support.pipe_name()
        listener = Listener(name)
        self.addCleanup(listener.close)
        client = connect(name, T)
        self.addCleanup(client.close)
        server = listener.accept(T)
        self.addCleanup(server.close)
        return client, server

    def outcome(self, call):
        box = []

        def run():
            try:
                while True:
                    call()
            except Exception as exc:            # noqa: BLE001 - the outcome
                box.append(exc)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread, box

    def check(self, thread, box, conn):
        conn.close()
        support.join(thread, T)
        self.assertEqual(len(box), 1)
        exc = box[0]
        if type(exc) is ConnectionClosedError:    # the close met the call
            self.assertEqual((str(exc), exc.reason),
                             ('connection closed by this side', 'closed'))
        else:                                     # or the next call
            self.assertIs(type(exc), NPipesError, repr(exc))
            self.assertEqual(str(exc), 'connection is closed')

    def test_a_receive_waiting_forever(self):
        for _ in range(self.ROUNDS):
            client, server = self.pair()
            thread, box = self.outcome(server.recv)   # (the fast path)
            self.check(thread, box, server)

    def test_a_receive_with_a_timeout_mid_frame(self):
        for _ in range(self.ROUNDS):
            client, server = self.pair()
            client.transport_stream.send(encode_frame(b'x' * 100)[:30],
                                         Deadline(T))    # half a frame
            thread, box = self.outcome(lambda: server.recv(T))
            self.check(thread, box, server)

    def test_a_send_while_the_peer_reads_nothing(self):
        for _ in range(self.ROUNDS):
            client, server = self.pair()
            thread, box = self.outcome(lambda: client.send(b'y' * 65536, T))
            self.check(thread, box, client)


if __name__ == '__main__':
    unittest.main()
