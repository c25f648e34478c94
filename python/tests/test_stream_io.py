"""The Unix Stream's fast paths: header, payload and CRC field written by
gathering writes (exactly the frame's bytes, however the kernel splits
them), deadlines kept without switching the socket's mode, and a
Connection's read-ahead with the frame timeout."""

import socket
import threading
import unittest

from tests import support
from npipes._util import Capabilities, Deadline
from npipes.connection import Connection
from npipes.errors import ConnectionClosedError, PipeTimeoutError
from npipes.message import encode_frame

if support.IS_UNIX:
    from npipes import _unixsock

T = 10
MiB = 1024 * 1024


class Collector(threading.Thread):
    """Reads one socket to EOF in small reads; ``data`` is what came."""

    def __init__(self, sock, read=4093):
        super().__init__(daemon=True)
        self.sock, self.read, self.data = sock, read, bytearray()
        self.start()

    def run(self):
        while True:
            chunk = self.sock.recv(self.read)
            if not chunk:
                return
            self.data += chunk

    def result(self, test):
        self.join(T)
        test.assertFalse(self.is_alive(), 'reader did not reach EOF')
        return bytes(self.data)


def pair(test):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    test.addCleanup(a.close)
    test.addCleanup(b.close)
    b.settimeout(T)
    return a, b


@unittest.skipUnless(support.IS_UNIX, 'the AF_UNIX Stream')
class GatherSendTests(unittest.TestCase):

    def test_unsent_is_the_exact_rest(self):
        parts = [b'head', b'', bytearray(b'payload'), memoryview(b'crc!')]
        whole = b''.join(parts)
        for sent in range(len(whole) + 1):
            with self.subTest(sent=sent):
                rest = _unixsock._unsent(parts, sent)
                self.assertEqual(b''.join(rest), whole[sent:])
                self.assertTrue(all(len(v) for v in rest))

    def test_frames_on_the_wire_are_exactly_encode_frame(self):
        payloads = [b'', b'x' * 16, bytes(range(256)) * 300,
                    bytearray(b'\xa5' * (3 * MiB + 1)), 'text']
        want = b''.join(encode_frame(p.encode() if isinstance(p, str)
                                     else p, crc=True) for p in payloads)
        for timeout in (None, T):          # blocking, and MSG_DONTWAIT+poll
            with self.subTest(timeout=timeout):
                a, b = pair(self)
                reader = Collector(b)
                conn = Connection(_unixsock.Stream(a), crc=True,
                                  max_payload=None)
                # partial writes: smaller than the Stream's own buffer
                a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
                for p in payloads:
                    conn.send(p, timeout=timeout)
                a.shutdown(socket.SHUT_WR)
                self.assertEqual(reader.result(self), want)
                self.assertIsNone(a.gettimeout())     # still blocking

    def test_send_parts_finishes_partial_writes(self):
        a, b = pair(self)
        reader = Collector(b, read=1000)
        parts = [b'H' * 8, memoryview(b'P' * (2 * MiB + 3)), b'T' * 4]
        stream = _unixsock.Stream(a)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        stream.send_parts(parts, Deadline(T))
        a.shutdown(socket.SHUT_WR)
        self.assertEqual(reader.result(self), b''.join(parts))

    def test_message_transport_gets_one_write_per_frame(self):
        class OneWritePerFrame:           # like a Windows message pipe
            def __init__(self):
                self.writes = []

            def send(self, frame, deadline):
                self.writes.append(bytes(frame))

            def close(self):
                pass

            def capabilities(self):       # no gathering write
                return Capabilities()
        stream = OneWritePerFrame()
        conn = Connection(stream, crc=True)
        conn.send(b'abc')
        conn.send(bytearray(70000))
        self.assertEqual(stream.writes,
                         [encode_frame(b'abc', crc=True),
                          encode_frame(bytes(70000), crc=True)])


@unittest.skipUnless(support.IS_UNIX, 'the AF_UNIX Stream')
class DeadlineTests(unittest.TestCase):

    def test_send_into_a_full_socket_times_out_and_stays_blocking(self):
        a, _ = pair(self)                      # the peer never reads
        stream = _unixsock.Stream(a)           # (it asks for 1 MiB)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        with self.assertRaisesRegex(PipeTimeoutError, 'send timed out'):
            stream.send_parts([b'x' * MiB], Deadline(0.1))
        self.assertIsNone(a.gettimeout())
        self.assertTrue(a.getblocking())

    def test_receive_times_out_or_returns_what_is_there(self):
        a, b = pair(self)
        stream = _unixsock.Stream(a)
        view = memoryview(bytearray(16))
        with self.assertRaisesRegex(PipeTimeoutError, 'receive timed out'):
            stream.recv_into(view, Deadline(0.05))
        b.sendall(b'ready')
        # bytes already there are returned even with no time left
        self.assertEqual(stream.recv_into(view, Deadline(0)), 5)
        self.assertEqual(bytes(view[:5]), b'ready')
        self.assertIsNone(a.gettimeout())

    def test_reset_is_connection_closed(self):
        a, b = pair(self)
        stream = _unixsock.Stream(a)
        a.sendall(b'unread')                  # b closes without reading it
        b.close()
        with self.assertRaises(ConnectionClosedError):
            for _ in range(100):
                stream.send_parts([b'x' * 65536], Deadline(T))


@unittest.skipUnless(support.IS_UNIX, 'the AF_UNIX Stream')
class ReadAheadTests(unittest.TestCase):

    def test_frames_in_one_write_come_out_one_per_recv(self):
        a, b = pair(self)
        conn = Connection(_unixsock.Stream(a), crc=True)
        b.sendall(b''.join(encode_frame(bytes([i]) * i, crc=True)
                           for i in range(40)))
        for i in range(40):
            self.assertEqual(conn.recv(timeout=T), bytes([i]) * i)

    def test_frame_timeout_covers_a_frame_read_ahead(self):
        a, b = pair(self)
        conn = Connection(_unixsock.Stream(a), frame_timeout=0.2)
        second = encode_frame(b'second, never finished')
        b.sendall(encode_frame(b'first') + second[:10])
        self.assertEqual(conn.recv(timeout=T), b'first')
        with self.assertRaises(ConnectionClosedError) as cm:
            conn.recv(timeout=T)
        self.assertEqual(cm.exception.reason, 'frame timeout')
        self.assertTrue(conn.closed)


if __name__ == '__main__':
    unittest.main()
