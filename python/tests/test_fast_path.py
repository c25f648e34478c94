"""The calls without a deadline: FrameDecoder.receive (the whole read loop
in one call, a lone small frame decoded on the spot) and Connection's
direct use of the socket's own sendall/recv_into (Capabilities.raw), including
the one-call packing of a repeated small frame size."""

import socket
import threading
import unittest
import zlib

from tests import support
from npipes._unixsock import SEND_BUFFER_SIZE, Stream
from npipes.connection import Connection
from npipes.errors import (ConnectionClosedError, CrcMismatchError,
                           FrameError, FrameTooLargeError,
                           IncompleteFrameError, PipeTimeoutError)
from npipes.message import FrameDecoder, encode_frame
from tests.test_decoder_pieces import SIZES, payload_of

T = 10          # bound on every socket wait (a hang fails, it never blocks)


def reader(data, reads):
    """A recv_into that delivers *data* in reads of the sizes in *reads*
    (cycled; each at most what the view has room for), then EOF."""
    state = {'at': 0, 'i': 0}

    def recv_into(view):
        at, i = state['at'], state['i']
        k = min(len(view), len(data) - at, reads[i % len(reads)])
        view[:k] = data[at:at + k]
        state['at'], state['i'] = at + k, i + 1
        return k
    return recv_into


def receive_all(decoder, recv_into):
    out = []
    while True:
        payload = decoder.receive(recv_into)
        if payload is None:
            return out
        out.append(payload)


class DecoderReceiveTests(unittest.TestCase):

    def test_every_size_in_every_split(self):
        payloads = [payload_of(n, n) for n in SIZES]
        stream = b''.join(encode_frame(p, crc=True) for p in payloads)
        small = sum(1 for n in SIZES if n <= 70_000)
        for reads in ([1 << 30], [4093], [65535, 3], [28], [7, 3, 1]):
            sizes = SIZES if reads[-1] > 1 else SIZES[:small]
            with self.subTest(reads=reads):
                dec = FrameDecoder(crc=True, read_ahead=True,
                                   max_payload=None)
                data = stream[:sum(len(encode_frame(b'x' * n))
                                   for n in sizes)]
                got = receive_all(dec, reader(data, reads))
                self.assertEqual([len(p) for p in got], sizes)
                self.assertTrue(got == payloads[:len(sizes)],
                                'payload bytes differ')
                self.assertTrue(all(type(p) is bytes for p in got))
                self.assertFalse(dec.in_frame)
                self.assertEqual(dec.last_crc,
                                 zlib.crc32(payloads[len(sizes) - 1]))

    def test_lone_frames_decoded_on_the_spot(self):
        # one frame per read: the inline branch, for every small size
        frames = [encode_frame(payload_of(n, n), crc=True)
                  for n in range(0, 300)]
        dec = FrameDecoder(crc=True, read_ahead=True)
        for n, frame in enumerate(frames):
            def one(view, frame=frame):
                view[:len(frame)] = frame
                return len(frame)
            self.assertEqual(dec.receive(one), payload_of(n, n))
            self.assertFalse(dec.in_frame)

    def test_crc_mismatch_in_a_lone_frame_keeps_the_stream_in_step(self):
        bad = bytearray(encode_frame(b'sixteen bytes!!!', crc=True))
        bad[10] ^= 0x40
        good = encode_frame(b'next', crc=True)
        dec = FrameDecoder(crc=True, read_ahead=True)
        with self.assertRaises(CrcMismatchError) as cm:
            dec.receive(reader(bytes(bad), [len(bad)]))
        self.assertEqual(cm.exception.received,
                         zlib.crc32(b'sixteen bytes!!!'))
        self.assertFalse(dec.in_frame)
        self.assertEqual(dec.receive(reader(good, [len(good)])), b'next')

    def test_crc_mismatch_in_the_last_chunk_of_a_large_frame(self):
        big = payload_of(1024 * 1024 + 5, 9)
        bad = bytearray(encode_frame(big, crc=True))
        bad[-5] ^= 0x01                       # the payload's last byte
        dec = FrameDecoder(crc=True, read_ahead=True, max_payload=None)
        with self.assertRaises(CrcMismatchError):
            dec.receive(reader(bytes(bad), [65536, 1000]))
        self.assertFalse(dec.in_frame)

    def test_limit_applies_to_a_lone_small_frame(self):
        frame = encode_frame(b'x' * 100)
        dec = FrameDecoder(read_ahead=True, max_payload=99)
        with self.assertRaises(FrameTooLargeError):
            dec.receive(reader(frame, [len(frame)]))
        with self.assertRaises(FrameError):     # the stream is lost
            dec.receive(reader(frame, [len(frame)]))

    def test_bad_header_is_refused(self):
        bad = b'\x00\x00\x00\x63\x00\x00\x00\x05hello\x00\x00\x00\x00'
        dec = FrameDecoder(read_ahead=True)
        with self.assertRaisesRegex(FrameError, 'MessageLength 99'):
            dec.receive(reader(bad, [len(bad)]))

    def test_eof_between_and_inside_frames(self):
        frame = encode_frame(b'whole', crc=True)
        dec = FrameDecoder(crc=True, read_ahead=True)
        self.assertEqual(receive_all(dec, reader(frame, [3])), [b'whole'])
        self.assertFalse(dec.in_frame)
        dec = FrameDecoder(crc=True, read_ahead=True)
        self.assertIsNone(dec.receive(reader(frame[:-1], [100])))
        self.assertTrue(dec.in_frame)


class RawSocketConnectionTests(unittest.TestCase):
    """Connection over a socketpair's Stream: sends and receives without a
    deadline go straight to the socket's own calls."""

    def setUp(self):
        ours, self.peer = socket.socketpair()
        self.stream = Stream(ours)
        ours.settimeout(T)          # bounds the raw calls in these tests
        self.peer.settimeout(T)
        self.conn = Connection(self.stream, crc=True)
        self.addCleanup(self.peer.close)
        self.addCleanup(self.conn.close)

    def read_peer(self, n):
        data = b''
        while len(data) < n:
            chunk = self.peer.recv(n - len(data))
            self.assertTrue(chunk, 'peer saw EOF')
            data += chunk
        return data

    def test_uses_the_raw_calls(self):
        self.assertIsNotNone(self.conn._raw)

    def test_asks_for_a_large_send_buffer(self):
        try:
            with open('/proc/sys/net/core/wmem_max') as f:
                cap = int(f.read())
        except OSError:
            self.skipTest('no /proc/sys/net/core/wmem_max (not Linux)')
        got = self.stream._sock.getsockopt(socket.SOL_SOCKET,
                                           socket.SO_SNDBUF)
        # Linux doubles the value asked for (bookkeeping), up to the cap
        self.assertGreaterEqual(got, 2 * min(SEND_BUFFER_SIZE, cap))

    def test_sent_frames_equal_encode_frame_as_sizes_and_order_change(self):
        sizes = [16, 16, 16, 17, 17, 0, 0, 16, 8192, 8192, 8193, 16, 16]
        for endian in ('big', 'little', 'big'):
            self.conn.endian = endian
            for i, n in enumerate(sizes):
                payload = payload_of(n, i)
                data = bytearray(payload) if i % 2 else payload
                self.conn.send(data)
                want = encode_frame(payload, crc=True, endian=endian)
                self.assertEqual(self.read_peer(len(want)), want,
                                 f'{endian} frame {i} of {n} bytes')

    def test_request_and_frames_that_arrive_together(self):
        frames = [encode_frame(payload_of(n, n), crc=True)
                  for n in (16, 0, 5000, 16, 70000)]
        self.peer.sendall(b''.join(frames))
        for n in (16, 0, 5000, 16, 70000):
            self.assertEqual(self.conn.recv(), payload_of(n, n))
        done = threading.Event()

        def echo():
            for _ in range(50):
                header = self.read_peer(8)
                size = int.from_bytes(header[4:], 'big')
                self.peer.sendall(header + self.read_peer(size + 4))
            done.set()
        thread = threading.Thread(target=echo)
        thread.start()
        for i in range(50):
            self.assertEqual(self.conn.request(b'%016d' % i), b'%016d' % i)
        support.join(thread, T)
        self.assertTrue(done.is_set())

    def test_crc_mismatch_then_the_next_frame(self):
        bad = bytearray(encode_frame(b'0123456789abcdef', crc=True))
        bad[-1] ^= 0xFF
        self.peer.sendall(bytes(bad))
        with self.assertRaises(CrcMismatchError):
            self.conn.recv()
        self.peer.sendall(encode_frame(b'after', crc=True))
        self.assertEqual(self.conn.recv(), b'after')

    def test_eof_between_frames_and_inside_one(self):
        self.peer.sendall(encode_frame(b'last', crc=True))
        self.peer.shutdown(socket.SHUT_WR)
        self.assertEqual(self.conn.recv(), b'last')
        with self.assertRaises(ConnectionClosedError):
            self.conn.recv()
        ours, peer = socket.socketpair()
        with Connection(Stream(ours), crc=True) as conn, peer:
            ours.settimeout(T)
            peer.sendall(encode_frame(b'cut short', crc=True)[:-2])
            peer.shutdown(socket.SHUT_WR)
            with self.assertRaises(IncompleteFrameError):
                conn.recv()

    def test_peer_gone_is_connection_closed(self):
        self.peer.close()
        with self.assertRaises(ConnectionClosedError):
            for _ in range(100):           # until the kernel says so
                self.conn.send(b'x' * 16)

    def test_reset_while_receiving_is_connection_closed(self):
        self.conn.send(b'y' * 16)
        self.peer.close()       # with our frame unread: a reset, not EOF
        with self.assertRaises(ConnectionClosedError):
            self.conn.recv()

    def test_stalled_peer_mid_frame_times_out_and_continues(self):
        self.stream._sock.settimeout(None)  # a real deadline, not T's
        frame = encode_frame(payload_of(150_000, 7), crc=True)
        self.peer.sendall(frame[:50_000])
        with self.assertRaises(PipeTimeoutError):
            self.conn.recv(timeout=0.05)    # the deadline path
        self.assertTrue(self.conn._decoder.in_frame)
        self.peer.sendall(frame[50_000:])   # all there: recv() is bounded
        self.assertEqual(self.conn.recv(), payload_of(150_000, 7))

if __name__ == '__main__':
    unittest.main()
