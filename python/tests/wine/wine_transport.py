"""npipes' Windows transport against Wine's named pipes: IPC in both start
orders, CRC on/off, both byte orders, frames above 64 KiB (message mode:
ERROR_MORE_DATA re-reads); connect/Listener with many clients; rpc."""

import threading
import unittest
import zlib
from unittest import mock

import winapi_proxy
from tests import support
from winesupport import T, echo_listener, in_thread, reached
from npipes import rpc
from npipes.connection import connect
from npipes.errors import ConnectionClosedError, NPipesError, PipeTimeoutError
from npipes.ipc import IPC
from npipes.listener import Listener

FORMATS = [(e, c) for e in ('big', 'little') for c in (False, True)]


class IpcOnWine(unittest.TestCase):

    def test_both_start_orders_formats_and_big_frames(self):
        for endian, crc in FORMATS:
            for sender_first in (True, False):
                for size in (10, 200_000):
                    with self.subTest(endian=endian, crc=crc, sender_first=sender_first,
                                      size=size):
                        name = support.pipe_name()
                        text = ''.join(chr(33 + (i * 7) % 90) for i in range(size))
                        send = lambda: IPC(name, endian=endian, timeout=T).send_message(text, crc=crc)
                        recv = lambda: IPC(name, endian=endian, timeout=T).receive_message(crc=crc)
                        first, second = (send, recv) if sender_first else (recv, send)
                        # a sender waits in ConnectNamedPipe; a receiver only connects (CreateFile, again and again)
                        with reached('ConnectNamedPipe' if sender_first else 'CreateFile') as waiting:
                            first_result = in_thread(first)
                            self.assertTrue(waiting.wait(T), 'first side never waited')
                        second_result = second()
                        got = ((first_result(), second_result) if sender_first
                               else (second_result, first_result()))
                        self.assertEqual(got, (True, text))

    def test_one_write_per_frame_and_reads_continue_a_message(self):
        # A 300 KiB frame is ONE pipe message: the receiver's 64 KiB reads get
        # ERROR_MORE_DATA and continue it.
        name = support.pipe_name()
        text = 'z' * (300 * 1024)
        recv = in_thread(lambda: IPC(name, timeout=T).receive_message())
        winapi_proxy.calls.clear()
        self.assertTrue(IPC(name, timeout=T).send_message(text))
        self.assertEqual(recv(), text)
        writes = [a for f, a in winapi_proxy.calls if f == 'WriteFile']
        self.assertIn(len(text) + 12, writes)

    def test_receive_times_out_and_frees_the_name(self):
        name = support.pipe_name()
        with self.assertRaises(PipeTimeoutError):
            IPC(name, timeout=0.2).receive_message()
        with Listener(name):
            pass


class ListenerOnWine(unittest.TestCase):

    def test_many_clients_at_once(self):
        name = support.pipe_name()
        with echo_listener(name, crc=True, endian='little'):
            def client(k):
                with connect(name, timeout=T, crc=True, endian='little') as c:
                    out = [c.request(f'{k}:{i}', timeout=T) for i in range(10)]
                    big = bytes(range(256)) * 600               # 150 KiB
                    out.append(c.request(big, timeout=T) == big)
                    return out
            results = [in_thread(lambda k=k: client(k)) for k in range(12)]
            for k, result in enumerate(results):
                self.assertEqual(result(), [f'{k}:{i}' for i in range(10)] + [True])

    def test_limits_max_connections_and_timeouts(self):
        # test_listener_limits drives these with raw AF_UNIX clients; here
        # with real (Wine) pipe clients.
        name = support.pipe_name()
        with echo_listener(name, max_connections=1, idle_timeout=0.5,
                           frame_timeout=0.5) as listener:
            with connect(name, timeout=T) as first:
                self.assertEqual(first.request('in', timeout=T), 'in')
                with connect(name, timeout=T) as second:          # over the limit
                    with self.assertRaises(ConnectionClosedError):
                        second.request('refused', timeout=T)
                self.assertEqual(listener.refused_connections, 1)
                with self.assertRaises(ConnectionClosedError):     # idle: closed
                    first.recv(timeout=T)
            with connect(name, timeout=T) as third:
                from npipes._util import Deadline
                third._stream.send(b'\x00\x00\x00\x10', Deadline(T))   # a frame's start
                with self.assertRaises(ConnectionClosedError):         # stalled: closed (a timeout)
                    third.recv(timeout=T)

    def test_peer_gone_is_connection_closed(self):
        name = support.pipe_name()
        with Listener(name) as listener:
            c = connect(name, timeout=T)
            with listener.accept(timeout=T) as s:
                c.send('last words')
                c.close()
                self.assertEqual(s.recv_text(timeout=T), 'last words')
                with self.assertRaises(ConnectionClosedError):
                    s.recv(timeout=T)
                with self.assertRaises(ConnectionClosedError):
                    s.send('to nobody')

    def test_accept_after_a_client_came_and_left(self):
        # ConnectNamedPipe then fails with ERROR_NO_DATA: the accept still
        # returns that (closed) client, and the next client is served.
        name = support.pipe_name()
        with Listener(name) as listener:
            w = winapi_proxy
            probe = w.CreateFile('\\\\.\\pipe\\' + name, w.GENERIC_READ | w.GENERIC_WRITE,
                                 0, 0, w.OPEN_EXISTING, 0, 0)
            w.CloseHandle(probe)
            with listener.accept(timeout=T) as gone:
                with self.assertRaises(ConnectionClosedError):
                    gone.recv(timeout=T)
            with connect(name, timeout=T) as c, listener.accept(timeout=T) as s:
                c.send('next')
                self.assertEqual(s.recv_text(timeout=T), 'next')

    def test_close_ends_a_blocked_recv(self):
        # Closing the handle cancels the pending ReadFile (what rpc's
        # shutdown relies on): the reader gets a typed error, not a hang.
        name = support.pipe_name()
        with Listener(name) as listener, connect(name, timeout=T) as c, \
                listener.accept(timeout=T) as s:
            with reached('WaitForMultipleObjects', entered=True) as waiting:
                reading = in_thread(lambda: s.recv(timeout=T))
                self.assertTrue(waiting.wait(T))
            s.close()
            with self.assertRaises(NPipesError):
                reading()
            with self.assertRaises(ConnectionClosedError):   # 232: the server end is gone
                c.send('to a closed server')

    def test_close_as_an_accept_hands_over_keeps_the_server_closed(self):
        # close() landing after a client connected but before accept() made
        # the next instance used to be undone: accept() put a new instance
        # in place (the server open again, serve_forever waiting forever)
        # and returned the client whose handle close() had just closed.
        import npipes._windows as win
        from npipes._util import Deadline
        name = support.pipe_name()
        server = win.Server.create(name)
        client = connect(name, timeout=T)
        real = win._win32.create_pipe    # every instance is made here (with its DACL)

        def close_first(*args, **kwargs):
            server.close()
            return real(*args, **kwargs)
        try:
            with mock.patch.object(win._win32, 'create_pipe', close_first):
                with self.assertRaises(NPipesError):
                    server.accept(Deadline(T))
            self.assertTrue(server.closed)
            with self.assertRaises(PipeTimeoutError):       # no instance left behind
                connect(name, timeout=0.2)
        finally:
            client.close()
            server.close()

    def test_close_wakes_a_blocked_accept(self):
        name = support.pipe_name()
        listener = Listener(name)
        with reached('ConnectNamedPipe') as waiting:
            accepting = in_thread(lambda: listener.accept(timeout=T))
            self.assertTrue(waiting.wait(T))
        listener.close()
        with self.assertRaises(Exception) as caught:
            accepting()
        self.assertIn('closed', str(caught.exception))


class RpcOnWine(unittest.TestCase):

    def test_calls_from_several_clients(self):
        name = support.pipe_name()
        server = rpc.RpcServer(name, {'add': lambda a, b: a + b,
                                      'crc': lambda s: zlib.crc32(s.encode())})
        serving = threading.Thread(target=server.serve_forever)
        serving.start()
        try:
            def client(k):
                with rpc.connect(name, timeout=T) as c:
                    return ([c.call('add', k, i, timeout=T) for i in range(5)]
                            + [c.call('crc', 'x' * 100_000, timeout=T)])
            results = [in_thread(lambda k=k: client(k)) for k in range(4)]
            for k, result in enumerate(results):
                self.assertEqual(result(), [k + i for i in range(5)]
                                 + [zlib.crc32(b'x' * 100_000)])
        finally:
            server.close()
            serving.join(T)
        self.assertFalse(serving.is_alive())


if __name__ == '__main__':
    unittest.main()
