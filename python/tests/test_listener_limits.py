"""Listener limits, as NPipes' .NET PipeServer: max_connections,
idle_timeout, frame_timeout, memory that follows the bytes that arrive,
and errors reported (on_error, the 'npipes' logger), never printed."""

import json
import logging
import socket
import struct
import threading
import time
import tracemalloc
import unittest

from tests import support
from npipes.connection import connect
from npipes.errors import ConnectionClosedError
from npipes.listener import Listener, echo_handler
from npipes.message import FrameDecoder, encode_frame

T = 10
MiB = 1024 * 1024

#: 200 clients each send half a frame and stall, then all close.  Prints
#: JSON: the most threads seen alive, the errors reported, the refusals.
HALF_FRAMES = r'''
import json, socket, sys, threading, time
from npipes.listener import Listener, echo_handler
from npipes.message import encode_frame
name, clients, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
errors = []
lis = Listener(name, max_connections=cap,
               on_error=lambda conn, exc: errors.append(type(exc).__name__))
server = threading.Thread(target=lis.serve_forever, args=(echo_handler,))
server.start()

def until(cond):
    end = time.monotonic() + 15
    while not cond():
        if time.monotonic() > end:
            sys.exit(f"timed out: {lis.active_connections} active, "
                     f"{lis.refused_connections} refused")
        time.sleep(0.005)

half = encode_frame(b"x" * 100)[:50]
socks, peak = [], threading.active_count()
for _ in range(clients):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(lis.address)
    try:
        s.send(half, socket.MSG_NOSIGNAL)
    except OSError:
        pass                            # refused over the cap: closed
    socks.append(s)
    peak = max(peak, threading.active_count())
until(lambda: lis.active_connections + lis.refused_connections == clients)
peak = max(peak, threading.active_count())
for s in socks:
    s.close()
until(lambda: lis.active_connections == 0 and len(errors) == cap)
lis.close()
server.join(10)
print(json.dumps({"peak_threads": peak, "errors": errors,
                  "refused": lis.refused_connections}))
'''


def wait_until(cond, what):
    """Poll *cond* (a condition, not a sleep) for at most T seconds."""
    end = time.monotonic() + T
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f'timed out waiting for {what}')
        time.sleep(0.005)


def unsent(sock):
    """Bytes we sent on *sock* that the peer has not read yet (SIOCOUTQ)."""
    import fcntl
    import termios
    raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b'\0\0\0\0')
    return struct.unpack('i', raw)[0]


class ServingListener:
    """A Listener running serve_forever(handler) in a thread."""

    def __init__(self, test, handler=echo_handler, **options):
        self.errors = []
        self.listener = Listener(
            support.pipe_name(),
            on_error=lambda conn, exc: self.errors.append(exc), **options)
        self.thread = threading.Thread(target=self.listener.serve_forever,
                                       args=(handler,))
        self.thread.start()
        test.addCleanup(self.stop)

    def stop(self):
        self.listener.close()
        self.thread.join(T)

    def raw_client(self, test):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(T)
        s.connect(self.listener.address)
        test.addCleanup(s.close)
        return s


@unittest.skipUnless(support.IS_UNIX, 'raw AF_UNIX clients')
class ListenerLimitTests(unittest.TestCase):

    def test_max_connections(self):
        release = threading.Event()

        def hold(conn):
            conn.send(conn.recv())
            release.wait(T)
        srv = ServingListener(self, hold, max_connections=2)
        self.addCleanup(release.set)
        held = [connect(srv.listener.name, timeout=T) for _ in range(2)]
        for c in held:
            self.addCleanup(c.close)
            self.assertEqual(c.request('in', timeout=T), 'in')
        with connect(srv.listener.name, timeout=T) as third:
            with self.assertRaises(ConnectionClosedError):
                third.send('over the limit')    # may be accepted: discarded
                third.recv(timeout=T)
        self.assertEqual(srv.listener.refused_connections, 1)
        self.assertEqual(srv.listener.active_connections, 2)
        release.set()
        wait_until(lambda: srv.listener.active_connections == 0,
                   'the held connections to end')
        with connect(srv.listener.name, timeout=T) as again:
            self.assertEqual(again.request('room again', timeout=T),
                             'room again')

    def test_idle_timeout(self):
        srv = ServingListener(self, idle_timeout=0.2)
        with connect(srv.listener.name, timeout=T) as busy, \
                connect(srv.listener.name, timeout=T) as idle:
            self.assertEqual(busy.request('talks', timeout=T), 'talks')
            with self.assertRaises(ConnectionClosedError):
                idle.recv(timeout=T)           # closed by the server
        wait_until(lambda: srv.errors, 'the error report')
        self.assertEqual({e.reason for e in srv.errors}, {'idle timeout'})

    def test_frame_timeout_drops_a_stalled_frame(self):
        srv = ServingListener(self, frame_timeout=0.3)
        s = srv.raw_client(self)
        s.sendall(encode_frame(b'half of me')[:12])
        self.assertEqual(s.recv(100), b'')     # EOF: dropped by the server
        wait_until(lambda: srv.errors, 'the error report')
        self.assertIsInstance(srv.errors[0], ConnectionClosedError)
        self.assertEqual(srv.errors[0].reason, 'frame timeout')
        with connect(srv.listener.name, timeout=T) as c:
            self.assertEqual(c.request('next', timeout=T), 'next')

    def test_handler_errors_are_reported_not_printed(self):
        def broken(conn):
            conn.recv()
            raise RuntimeError('handler bug')
        srv = ServingListener(self, broken)
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = logging.getLogger('npipes')
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        with connect(srv.listener.name, timeout=T) as c:
            c.send('boom')
            with self.assertRaises(ConnectionClosedError):
                c.recv(timeout=T)
        wait_until(lambda: srv.errors and records, 'the error report')
        self.assertIsInstance(srv.errors[0], RuntimeError)
        self.assertEqual('HandlerFailed', getattr(records[0], 'npipes_event', None))
        self.assertIn('handler of a connection', records[0].getMessage())

    def test_library_prints_nothing_by_default(self):
        handlers = logging.getLogger('npipes').handlers
        self.assertTrue(any(isinstance(h, logging.NullHandler)
                            for h in handlers))

    def test_200_half_frame_clients(self):
        cap = 16
        child = support.spawn_python(HALF_FRAMES, support.pipe_name(), 200,
                                     cap)
        code, out, err = support.finish(child, timeout=60)
        self.assertEqual((code, err), (0, ''))      # no traceback printed
        report = json.loads(out)
        self.assertLessEqual(report['peak_threads'], cap + 2)
        self.assertEqual(report['errors'], ['IncompleteFrameError'] * cap)
        self.assertEqual(report['refused'], 200 - cap)

    def test_stalled_peers_announcing_16_MiB_cost_no_16_MiB(self):
        srv = ServingListener(self)
        header = struct.pack('>II', 16 * MiB + 8, 16 * MiB)
        tracemalloc.start()
        self.addCleanup(tracemalloc.stop)
        before = tracemalloc.get_traced_memory()[0]
        peers = []
        for _ in range(8):
            s = srv.raw_client(self)
            s.sendall(header + b'x' * 1024)
            peers.append(s)
        for s in peers:                        # the server read it all
            wait_until(lambda: unsent(s) == 0, 'the server to read')
        wait_until(lambda: srv.listener.active_connections == 8, 'accepts')
        grown = tracemalloc.get_traced_memory()[0] - before
        # Before: 8 x 16 MiB allocated from the headers alone.
        self.assertLess(grown, 4 * MiB)


class FrameDecoderMemoryTests(unittest.TestCase):

    def test_buffer_follows_what_arrived(self):
        header = struct.pack('>II', 16 * MiB + 8, 16 * MiB)
        tracemalloc.start()
        self.addCleanup(tracemalloc.stop)
        before = tracemalloc.get_traced_memory()[0]
        decoder = FrameDecoder()
        self.assertEqual(decoder.feed(header + b'y' * 1000), [])
        self.assertLess(tracemalloc.get_traced_memory()[0] - before, MiB)

    def test_large_frames_in_any_pieces(self):
        payload = bytes(range(256)) * 1000 + b'tail'      # above one chunk
        frames = (encode_frame(payload, crc=True) * 2
                  + encode_frame(b'small', crc=True))
        for piece in (1, 7, 65536, 70001, len(frames)):
            with self.subTest(piece=piece):
                decoder, got = FrameDecoder(crc=True), []
                for i in range(0, len(frames), piece):
                    got += decoder.feed(frames[i:i + piece])
                self.assertEqual(got, [payload, payload, b'small'])
                self.assertFalse(decoder.in_frame)


if __name__ == '__main__':
    unittest.main()
