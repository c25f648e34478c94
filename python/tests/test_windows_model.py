"""npipes/_windows.py run against an in-memory model of ``_winapi``.

The real Windows path needs Windows; these tests drive the same code
through tests/fake_winapi.py (message pipes, instances, ERROR_PIPE_BUSY,
ERROR_MORE_DATA, overlapped waits) so its logic is checked everywhere.
"""

import threading
import unittest

from tests import fake_win32, fake_winapi, support
from npipes import transport
from npipes.connection import connect
from npipes.errors import (ConnectionClosedError, IncompleteFrameError,
                           PipeNameInUseError, PipeTimeoutError)
from npipes.ipc import IPC
from npipes.listener import Listener, echo_handler
from npipes.message import encode_frame
from tests.test_ipc import run_threads

T = 10


def load_windows_module():
    return fake_win32.load_windows_module()


class WindowsModelTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.win = load_windows_module()

    def setUp(self):
        fake_win32.use_windows_module(self, self.win)
        self.name = support.pipe_name()
        fake_winapi.calls.clear()

    def test_pipe_address(self):
        self.assertEqual(transport.pipe_address('x'), '\\\\.\\pipe\\x')

    def test_ipc_both_orders_and_at_once(self):
        for round_ in range(10):
            name = support.pipe_name()
            tx, rx = IPC(name, timeout=T), IPC(name, timeout=T)
            order = [lambda: tx.send_message(f'r{round_}', crc=True),
                     lambda: rx.receive_message(crc=True)]
            if round_ % 2:
                order.reverse()
            got = run_threads(*order)
            self.assertEqual(sorted(map(str, got)), sorted(['True', f'r{round_}']))

    def test_ipc_pipe_shape_like_npipes(self):
        tx, rx = IPC(self.name, timeout=T), IPC(self.name, timeout=T)
        text = 'y' * (300 * 1024)                  # > 64 KiB: ERROR_MORE_DATA
        self.assertEqual(run_threads(lambda: tx.send_message(text),
                                     rx.receive_message), [True, text])
        creates = [a for f, a in fake_winapi.calls if f == 'CreateNamedPipe']
        self.assertEqual(len(creates), 1, creates)
        path, open_mode, pipe_mode, max_inst, out_size, in_size = creates[0]
        w = fake_winapi
        self.assertEqual(open_mode, w.PIPE_ACCESS_DUPLEX | w.FILE_FLAG_OVERLAPPED
                         | w.FILE_FLAG_FIRST_PIPE_INSTANCE)
        self.assertEqual(pipe_mode & 0x7, w.PIPE_TYPE_MESSAGE
                         | w.PIPE_READMODE_MESSAGE | w.PIPE_WAIT)
        self.assertEqual((max_inst, out_size, in_size), (1, 65536, 65536))
        writes = [a for f, a in fake_winapi.calls if f == 'WriteFile']
        self.assertEqual(writes, [len(text) + 12])     # ONE write per frame
        self.assertIn(('SetNamedPipeHandleState',
                       (fake_winapi.PIPE_READMODE_MESSAGE,)), fake_winapi.calls)

    def test_listener_many_clients_and_messages(self):
        listener = Listener(self.name, crc=True)
        server = threading.Thread(target=listener.serve_forever,
                                  args=(echo_handler,))
        server.start()
        try:
            def client(k):
                with connect(self.name, timeout=T, crc=True) as c:
                    out = [c.request(f'{k}:{i}', timeout=T) for i in range(30)]
                    big = bytes(range(256)) * 1024             # 256 KiB
                    out.append(c.request(big, timeout=T) == big)
                    return out
            results = run_threads(*[lambda k=k: client(k) for k in range(4)])
            for k, out in enumerate(results):
                self.assertEqual(out, [f'{k}:{i}' for i in range(30)] + [True])
        finally:
            listener.close()
            server.join(T)
        self.assertFalse(server.is_alive())

    def test_name_in_use(self):
        with Listener(self.name):
            with self.assertRaises(PipeNameInUseError):
                Listener(self.name)

    def test_timeouts_and_busy_instances(self):
        with self.assertRaises(PipeTimeoutError):
            connect(self.name, timeout=0.05)               # no pipe at all
        with Listener(self.name) as listener:
            with self.assertRaises(PipeTimeoutError):
                listener.accept(timeout=0.05)
            first = connect(self.name, timeout=T)          # takes the instance
            with self.assertRaises(PipeTimeoutError):      # ERROR_PIPE_BUSY
                connect(self.name, timeout=0.05)           # -> WaitNamedPipe
            got = {}
            t = threading.Thread(target=lambda: got.setdefault(
                'c', connect(self.name, timeout=T)))
            t.start()                  # waits in WaitNamedPipe ...
            with listener.accept(timeout=T) as a:          # ... a new instance
                t.join(T)
                with first, got['c'] as second, listener.accept(timeout=T) as b:
                    first.send('one')
                    second.send('two')
                    self.assertEqual(a.recv_text(timeout=T), 'one')
                    self.assertEqual(b.recv_text(timeout=T), 'two')

    def test_frame_in_several_pipe_messages_and_eof(self):
        with Listener(self.name) as listener:
            with connect(self.name, timeout=T) as c, \
                    listener.accept(timeout=T) as s:
                from npipes._util import Deadline
                frame = encode_frame(b'pieces')
                for i in range(0, len(frame), 5):          # 4 pipe messages
                    c._stream.send(frame[i:i + 5], Deadline(T))
                c._stream.send(b'', Deadline(T))           # empty message
                self.assertEqual(s.recv(timeout=T), b'pieces')
                c._stream.send(frame[:6], Deadline(T))
                c.close()
                with self.assertRaises(IncompleteFrameError):
                    s.recv(timeout=T)
            with connect(self.name, timeout=T) as c, \
                    listener.accept(timeout=T) as s:
                c.close()
                with self.assertRaises(ConnectionClosedError):
                    s.recv(timeout=T)
                with self.assertRaises(ConnectionClosedError):
                    s.send('to nobody')

    def test_recv_timeout_keeps_partial_frame(self):
        from npipes._util import Deadline
        with Listener(self.name) as listener:
            with connect(self.name, timeout=T) as c, \
                    listener.accept(timeout=T) as s:
                with self.assertRaises(PipeTimeoutError):
                    s.recv(timeout=0.05)
                frame = encode_frame(b'late', crc=False)
                c._stream.send(frame[:9], Deadline(T))
                with self.assertRaises(PipeTimeoutError):
                    s.recv(timeout=0.05)
                c._stream.send(frame[9:], Deadline(T))
                self.assertEqual(s.recv(timeout=T), b'late')

    def test_ipc_timeout(self):
        with self.assertRaises(PipeTimeoutError):
            IPC(self.name, timeout=0.05).receive_message()
        # the instance was closed: the name is free again
        with Listener(self.name):
            pass


if __name__ == '__main__':
    unittest.main()
