"""The 'npipes' logger emits the .NET library's events (NPipesLog.cs): the
same names, ids and levels, each record tagged with npipes_event(_id)."""

import logging
import socket
import threading
import time
import unittest

from tests import support
from npipes import _log
from npipes.connection import connect
from npipes.listener import Listener, echo_handler
from npipes.message import encode_frame

T = 10


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self._lock = threading.Lock()

    def emit(self, record):
        with self._lock:
            self.records.append(record)

    def events(self):
        with self._lock:
            return [(r.npipes_event, r.npipes_event_id, r.levelno)
                    for r in self.records if hasattr(r, 'npipes_event')]

    def wait_for(self, name):
        end = time.monotonic() + T
        while name not in [e[0] for e in self.events()]:
            if time.monotonic() > end:
                raise AssertionError(f'no {name} event; got {self.events()}')
            time.sleep(0.005)       # polls a condition with a bound


class LogEventTests(unittest.TestCase):
    def setUp(self):
        self.capture = _Capture()
        self.logger = logging.getLogger('npipes')
        self.old_level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self.capture)
        self.addCleanup(self.logger.removeHandler, self.capture)
        self.addCleanup(self.logger.setLevel, self.old_level)

    def serve(self, **options):
        lis = Listener(support.pipe_name(), **options)
        server = threading.Thread(target=lis.serve_forever, args=(echo_handler,), daemon=True)
        server.start()
        self.addCleanup(support.join, server)
        self.addCleanup(lis.close)
        return lis

    def assertEvent(self, name):
        event_id, level = _log.EVENTS[name]
        self.capture.wait_for(name)
        self.assertIn((name, event_id, level), self.capture.events())

    def test_the_ids_and_levels_are_those_of_the_dotnet_library(self):
        self.assertEqual(_log.EVENTS, {
            'ServerListening': (1, logging.INFO), 'ServerStopped': (2, logging.INFO),
            'ConnectionAccepted': (3, logging.DEBUG), 'ConnectionRefused': (4, logging.WARNING),
            'ConnectionClosed': (5, logging.DEBUG), 'FrameError': (6, logging.WARNING),
            'HandlerFailed': (7, logging.ERROR), 'AcceptFailed': (8, logging.WARNING),
            'WaitingForServer': (12, logging.DEBUG)})

    def test_a_served_client_is_listening_accepted_closed_and_stopped(self):
        lis = self.serve()
        self.assertEvent('ServerListening')
        with connect(lis.name, timeout=T) as conn:
            self.assertEqual(conn.request(b'hi', timeout=T), b'hi')
        self.assertEvent('ConnectionAccepted')
        self.assertEvent('ConnectionClosed')
        lis.close()
        self.assertEvent('ServerStopped')

    def test_a_client_over_the_limit_is_a_refusal(self):
        lis = self.serve(max_connections=1)
        first = connect(lis.name, timeout=T)
        self.addCleanup(first.close)
        self.assertEqual(first.request(b'a', timeout=T), b'a')
        second = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(second.close)
        second.connect(lis.address)
        self.assertEvent('ConnectionRefused')

    def test_a_crc_mismatch_is_a_frame_error_with_its_type(self):
        lis = self.serve(crc=True)
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(raw.close)
        raw.connect(lis.address)
        frame = bytearray(encode_frame(b'hello', crc=True))
        frame[-1] ^= 0xFF
        raw.sendall(bytes(frame))
        self.assertEvent('FrameError')
        message = [r.getMessage() for r in self.capture.records
                   if getattr(r, 'npipes_event', None) == 'FrameError'][0]
        self.assertIn('crc_mismatch', message)

    def test_a_handler_that_throws_is_handler_failed(self):
        lis = Listener(support.pipe_name())

        def boom(conn):
            raise RuntimeError('boom')
        server = threading.Thread(target=lis.serve_forever, args=(boom,), daemon=True)
        server.start()
        self.addCleanup(support.join, server)   # cleanups run last first: close, then join
        self.addCleanup(lis.close)
        with connect(lis.name, timeout=T):
            self.assertEvent('HandlerFailed')


if __name__ == '__main__':
    unittest.main()
