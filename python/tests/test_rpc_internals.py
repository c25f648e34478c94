"""The internal interface the RPC and asyncio engines use instead of other
modules' private members (Connection.transport_stream / frame_started, a
Stream's capabilities(), _unix.Server.listening_socket / admit),
and the typed JSON-RPC message helpers both engines share."""

import os
import socket
import sys
import time
import unittest

from tests import support
from npipes import _jsonrpc as rpc
from npipes._rpcio import FrameIO as frame_io
from npipes._util import Capabilities
from npipes.connection import Connection
from npipes.errors import ConnectionClosedError, PipeTimeoutError
from npipes.message import encode_frame

T = 10          # bound of every wait that is expected to succeed
SHORT = 0.2     # bound of a wait that is expected to time out

UNIX = sys.platform != 'win32'


def socket_pair():
    """Two Connections over a connected Unix socket pair."""
    from npipes._unixsock import Stream
    s1, s2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return (Connection(Stream(s1), frame_timeout=30.0),
            Connection(Stream(s2))), s1


def support_deadline():
    from npipes._util import Deadline
    return Deadline(T)


class _NoSocketStream:
    def recv_into(self, view, deadline):
        return 0

    def send(self, frame, deadline):
        pass

    def close(self):
        pass

    def capabilities(self):
        return Capabilities()


class _PlainStream(_NoSocketStream):
    """A Unix Stream without its capabilities: to the RPC engine, what a
    Windows pipe is (no two-thread I/O: the stream's own calls)."""

    def __init__(self, stream):
        self._stream = stream

    def recv_into(self, view, deadline):
        return self._stream.recv_into(view, deadline)

    def send(self, frame, deadline):
        self._stream.send(frame, deadline)

    def close(self):
        self._stream.close()


@unittest.skipUnless(UNIX, 'the Unix transport')
class TransportAccessorTests(unittest.TestCase):

    def setUp(self):
        (self.a, self.b), self.sock = socket_pair()
        self.addCleanup(self.a.close)
        self.addCleanup(self.b.close)

    def test_frame_io_takes_the_connections_socket_over(self):
        self.assertIs(self.a.transport_stream.capabilities().socket,
                      self.sock)
        io = frame_io(self.a)
        self.assertFalse(self.sock.getblocking())
        self.b.send(b'ping')
        self.assertEqual(io.recv(T), b'ping')
        io.send(memoryview(io.encode(b'pong')))
        self.assertEqual(self.b.recv(T), b'pong')

    def test_frame_io_without_two_thread_io_uses_the_stream(self):
        io = frame_io(Connection(_NoSocketStream()))
        self.assertFalse(io.direct)
        with self.assertRaises(ConnectionClosedError):
            io.recv(T)                      # the stream's own EOF

    def test_frame_io_refuses_a_closed_connection(self):
        self.a.close()
        self.assertIsNone(self.a.transport_stream)
        with self.assertRaises(ConnectionClosedError) as cm:
            frame_io(self.a)
        self.assertEqual(cm.exception.reason, 'closed')

    def test_frame_started_is_set_by_a_partial_frame(self):
        frame = encode_frame(b'hello')
        self.assertIsNone(self.a.frame_started)
        before = time.monotonic()
        self.b.transport_stream.send(frame[:5], support_deadline())
        with self.assertRaises(PipeTimeoutError):
            self.a.recv(SHORT)
        started = self.a.frame_started
        self.assertIsNotNone(started)
        self.assertGreaterEqual(started, before)
        self.b.transport_stream.send(frame[5:], support_deadline())
        self.assertEqual(self.a.recv(T), b'hello')
        self.assertIsNone(self.a.frame_started)

    def test_frame_started_stays_none_without_a_frame_timeout(self):
        frame = encode_frame(b'hello')
        self.a.transport_stream.send(frame[:5], support_deadline())
        with self.assertRaises(PipeTimeoutError):
            self.b.recv(SHORT)          # b has no frame_timeout
        self.assertIsNone(self.b.frame_started)

    def test_stream_frames_keep_frame_started(self):
        # The Windows engine's frames (the stream's own calls), over a Unix
        # socket: a partial frame starts the frame timeout's count.
        from npipes._unixsock import Stream
        s1, s2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s2.close)
        conn = Connection(_PlainStream(Stream(s1)), frame_timeout=30.0)
        self.addCleanup(conn.close)
        io = frame_io(conn)
        self.assertFalse(io.direct)
        self.b = Connection(Stream(s2))
        frame = encode_frame(b'abc')
        self.b.transport_stream.send(frame[:6], support_deadline())
        with self.assertRaises(PipeTimeoutError):
            io.recv(SHORT)
        self.assertIsNotNone(io.clock.frame_started)
        self.b.transport_stream.send(frame[6:], support_deadline())
        self.assertEqual(io.recv(T), b'abc')
        self.assertIsNone(io.clock.frame_started)


class PendingBytesTests(unittest.TestCase):
    """docs/rpc.md §9: reading stops at 4 MiB of requests read and not yet
    answered, well before the count bound; one request always gets in."""

    def test_four_mib_of_pending_requests_stop_the_reading(self):
        from npipes._rpcdispatch import MAX_PENDING_BYTES, Engine
        from npipes._rpctargets import Registry
        engine = Engine(Registry({'echo': lambda text: text}), 'test', None,
                        None, 8, 256, False, now=0.0)
        text = 'x' * 100_000
        jobs = []
        while not engine.full:
            payload = ('{"jsonrpc":"2.0","id":%d,"method":"echo","params":'
                       '["%s"]}' % (len(jobs) + 1, text)).encode()
            job = engine.receive(payload, 0.0)
            self.assertIsNone(engine.start(job, lambda: None))
            jobs.append(job)
        self.assertEqual(len(jobs), MAX_PENDING_BYTES // len(payload) + 1)
        self.assertLess(len(jobs), 8 + 256)            # the bytes decided
        self.assertTrue(engine.finish(jobs.pop(), 0.0))   # was full: wake up
        self.assertFalse(engine.full)
        for job in jobs:
            engine.finish(job, 0.0)
        self.assertEqual(engine.running_bytes, 0)

    def test_notifications_are_not_counted(self):
        from npipes._rpcdispatch import Engine
        from npipes._rpctargets import Registry
        engine = Engine(Registry({'f': lambda text: None}), 'test', None,
                        None, 8, 256, False, now=0.0)
        job = engine.receive(('{"jsonrpc":"2.0","method":"f","params":["%s"]}'
                              % ('y' * 5_000_000)).encode(), 0.0)
        engine.start(job, lambda: None)
        self.assertEqual(engine.running_bytes, 0)
        self.assertFalse(engine.full)


class IdleDecisionTests(unittest.TestCase):
    """The engine's idle rule (both drivers): a connection is idle only when
    no call runs or waits and nothing happened for idle_timeout seconds (so
    a call that ends just as the reader's wait runs out, its answer perhaps
    not yet posted, does not get its connection closed under it)."""

    def test_idle_only_after_a_quiet_idle_timeout(self):
        from concurrent.futures import Future
        from npipes._rpcdispatch import Engine
        from npipes._rpctargets import Registry
        engine = Engine(Registry({'f': lambda: 1}), 'test', None, 30.0, 1, 0,
                        False, now=100.0)
        self.assertEqual(engine.idle_left(110.0), 20.0)
        self.assertIsNone(engine.idle_expired(110.0))
        self.assertEqual(engine.idle_expired(130.0).reason, 'idle timeout')
        job = engine.receive(b'{"jsonrpc":"2.0","id":1,"method":"f"}', 130.0)
        self.assertIsNone(engine.start(job, lambda: None))   # a call runs
        self.assertTrue(engine.full)
        self.assertEqual(engine.idle_left(500.0), 30.0)
        self.assertIsNone(engine.idle_expired(500.0))
        engine.finish(job, 500.0)                           # it just ended
        self.assertIsNone(engine.idle_expired(500.0))
        self.assertEqual(engine.idle_expired(530.0).reason, 'idle timeout')
        id, _ = engine.open_call('m', [], Future())         # a call waits
        self.assertIsNone(engine.idle_expired(900.0))
        self.assertIn(b'$/cancelRequest', engine.forget(id))
        self.assertIsNone(engine.forget(id))


@unittest.skipUnless(UNIX, 'the Unix transport')
class UnixServerAccessorTests(unittest.TestCase):

    def test_listening_socket_and_admit(self):
        from npipes import _unix
        server = _unix.Server.create(support.pipe_name())
        self.addCleanup(server.close)
        sock = server.listening_socket
        self.assertIsInstance(sock, socket.socket)
        self.assertFalse(sock.getblocking())
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(client.close)
        client.settimeout(T)
        client.connect(server.path)
        sock.settimeout(T)
        conn, _ = sock.accept()
        self.addCleanup(conn.close)
        refused = []
        server.on_refused = refused.append
        stream = server.admit(conn)                  # the same user
        self.assertIsNotNone(stream)
        self.assertEqual(stream.peer.uid, os.geteuid())
        self.assertEqual(refused, [])
        server.close()
        self.assertIsNone(server.listening_socket)


class MessageTypeTests(unittest.TestCase):
    """The typed message helpers (npipes._jsonrpc)."""

    def test_parse_tells_calls_from_responses(self):
        call = rpc.parse(b'{"jsonrpc":"2.0","id":7,"method":"m","params":[1]}')
        self.assertIsInstance(call, rpc.Call)
        self.assertEqual((call.kind, call.id, call.method, call.params),
                         ('request', 7, 'm', [1]))
        note = rpc.parse(b'{"jsonrpc":"2.0","method":"m"}')
        self.assertEqual((note.kind, note.id, note.params),
                         ('notification', None, None))
        null_id = rpc.parse(b'{"jsonrpc":"2.0","id":null,"method":"m"}')
        self.assertEqual((null_id.kind, null_id.id), ('request', None))
        reply = rpc.parse(b'{"jsonrpc":"2.0","id":"a","result":null}')
        self.assertIsInstance(reply, rpc.Response)
        self.assertEqual((reply.id, reply.body['result']), ('a', None))

    def test_outcome(self):
        self.assertEqual(rpc.outcome({'result': [1, 2]}), ([1, 2], None))
        result, error = rpc.outcome(
            {'error': {'code': -32800, 'message': 'gone', 'data': {'x': 1}}})
        self.assertIsNone(result)
        self.assertIsInstance(error, rpc.RequestCancelledError)
        self.assertEqual((error.code, error.message, error.data),
                         (-32800, 'gone', {'x': 1}))
        # An error member that is not an object does not hide the result.
        self.assertEqual(rpc.outcome({'result': 3, 'error': 'odd'}),
                         (3, None))

    def test_remote_error_type_is_a_str_or_none(self):
        self.assertEqual(rpc.RemoteError(1, 'm', {'type': 'KeyError'}).type,
                         'KeyError')
        self.assertIsNone(rpc.RemoteError(1, 'm', {'type': 5}).type)
        self.assertIsNone(rpc.RemoteError(1, 'm', [1]).type)

    def test_cancel_target_takes_only_ids(self):
        self.assertEqual(rpc.cancel_target({'id': 7}), 7)
        self.assertEqual(rpc.cancel_target(['a']), 'a')
        for params in ({'id': True}, {'id': [7]}, {'id': {}}, [1, 2], None,
                       {}):
            with self.subTest(params=params):
                self.assertIsNone(rpc.cancel_target(params))

    def test_closed_and_lost_errors_carry_the_reason(self):
        closed = ConnectionClosedError('bye', reason='closed')
        err = rpc.closed_error(closed)
        self.assertEqual((err.reason, str(err)),
                         ('closed', 'the RPC connection is closed'))
        self.assertIs(err.__cause__, closed)
        self.assertEqual(rpc.closed_error(ValueError('x')).reason, 'error')
        lost = rpc.lost_error(ConnectionClosedError('gone'), 'add')
        self.assertEqual(lost.reason, 'peer closed')
        self.assertIn("'add'", str(lost))


if __name__ == '__main__':
    unittest.main()
