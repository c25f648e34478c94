"""Large messages through shared memory between two npipes peers
(docs/shared-memory.md): round trips, writing and reading in place, the
sender's seals and in-flight budget, and where it is not available."""

import array
import fcntl
import mmap
import os
import socket
import sys
import threading
import unittest
import zlib
from unittest import mock

if not sys.platform.startswith('linux'):
    raise unittest.SkipTest('shared memory is Linux only')

from tests.shm_support import open_fds, pipe_name
from tests.support import join

import npipes
from npipes import (PipeTimeoutError, SharedMemory, SharedMemoryError)
from npipes._shmframe import FLAG
from npipes._util import Capabilities

TIMEOUT = 10
MIN = SharedMemory().min_payload


class Pair:
    """A Listener's connection and a client's, both with *options*."""

    def __init__(self, server_options, client_options=None):
        self.listener = npipes.Listener(pipe_name(), **server_options)
        self.client = npipes.connect(self.listener.name, TIMEOUT,
                                     **(client_options or server_options))
        self.server = self.listener.accept(TIMEOUT)

    def close(self):
        self.client.close()
        self.server.close()
        self.listener.close()


class RoundTrips(unittest.TestCase):

    def pair(self, **options):
        pair = Pair(options)
        self.addCleanup(pair.close)
        return pair

    def exchange(self, pair, sizes):
        """Each size one way and back; the way each travelled."""
        for size in sizes:
            data = os.urandom(size)
            pair.client.send(data, TIMEOUT)
            with pair.server.recv_buffer(TIMEOUT) as got:
                self.assertEqual(got.view, data, size)
                self.assertEqual(got.shared, size >= MIN, size)
                pair.server.send(got.view.tobytes(), TIMEOUT)
            self.assertEqual(pair.client.recv(TIMEOUT), data, size)

    def test_threshold_edges_crc_and_byte_orders(self):
        sizes = [0, 1, MIN - 1, MIN, MIN + 1, 1 << 20]
        for crc in (False, True):
            for endian in ('big', 'little'):
                with self.subTest(crc=crc, endian=endian):
                    self.exchange(self.pair(shared_memory=True, crc=crc,
                                            endian=endian), sizes)

    def test_changing_the_byte_order_changes_descriptor_frames_too(self):
        pair = Pair({'shared_memory': True, 'endian': 'little'},
                    {'shared_memory': True})
        self.addCleanup(pair.close)
        pair.client.endian = 'little'
        pair.client.send(bytes(MIN), TIMEOUT)
        with pair.server.recv_buffer(TIMEOUT) as got:
            self.assertTrue(got.shared)
            self.assertEqual(len(got), MIN)

    def test_own_threshold(self):
        pair = self.pair(shared_memory=SharedMemory(min_payload=1))
        pair.client.send(b'x', TIMEOUT)
        with pair.server.recv_buffer(TIMEOUT) as got:
            self.assertTrue(got.shared)
            self.assertEqual(got.view, b'x')
        pair.client.send(b'', TIMEOUT)             # never through a file
        with pair.server.recv_buffer(TIMEOUT) as got:
            self.assertFalse(got.shared)

    def test_16_MiB_with_raised_limit(self):
        size = 16 << 20
        pair = self.pair(shared_memory=True, crc=True, max_payload=size)
        data = os.urandom(size)
        pair.client.send(data, TIMEOUT)
        self.assertEqual(pair.server.recv(TIMEOUT), data)

    def test_over_the_senders_limit_is_refused_before_a_file(self):
        pair = self.pair(shared_memory=True, max_payload=MIN)
        with mock.patch('os.memfd_create') as create:
            with self.assertRaises(npipes.FrameTooLargeError):
                pair.client.send(bytes(MIN + 1))
            with self.assertRaises(npipes.FrameTooLargeError):
                pair.client.create_message(MIN + 1)
        create.assert_not_called()

    def test_create_message_in_place(self):
        pair = self.pair(shared_memory=True, crc=True)
        size = 3 * MIN
        with pair.client.create_message(size) as message:
            self.assertEqual(len(message), size)
            message.buffer[:] = b'\xab' * size
            message.buffer[7] = 1
            message.send(TIMEOUT)
            with self.assertRaises(ValueError):
                message.buffer
        with pair.server.recv_buffer(TIMEOUT) as got:
            self.assertTrue(got.shared)
            self.assertTrue(got.view.readonly)
            self.assertEqual(got.view[7], 1)
            self.assertEqual(zlib.crc32(got.view),
                             zlib.crc32(b'\xab' * 7 + b'\x01' + b'\xab' * (size - 8)))

    def test_small_create_message_goes_inline(self):
        pair = self.pair(shared_memory=True)
        with pair.client.create_message(10) as message:
            message.buffer[:] = b'0123456789'
            message.send(TIMEOUT)
        with pair.server.recv_buffer(TIMEOUT) as got:
            self.assertFalse(got.shared)
            self.assertEqual(got.view, b'0123456789')

    def test_abandoned_message_sends_nothing_and_leaks_nothing(self):
        pair = self.pair(shared_memory=True)
        pair.client.send(bytes(MIN), TIMEOUT)         # (the ring, once)
        self.assertEqual(pair.server.recv(TIMEOUT), bytes(MIN))
        fds = open_fds()
        with pair.client.create_message(MIN) as message:
            message.buffer[0] = 9
        self.assertEqual(open_fds(), fds)
        pair.client.send(b'after', TIMEOUT)
        self.assertEqual(pair.server.recv(TIMEOUT), b'after')

    def test_a_view_still_held_is_a_clear_error(self):
        pair = self.pair(shared_memory=True)
        message = pair.client.create_message(MIN)
        part = message.buffer[:10]
        with self.assertRaisesRegex(npipes.NPipesError, 'release it'):
            message.send(TIMEOUT)
        part.release()

    def test_released_buffer_is_unmapped(self):
        pair = self.pair(shared_memory=True)
        pair.client.send(bytes(MIN), TIMEOUT)
        got = pair.server.recv_buffer(TIMEOUT)
        view = got.view
        self.assertTrue(got.shared)
        got.release()
        with self.assertRaises(ValueError):
            view[0]
        with self.assertRaises(ValueError):
            got.view
        got.release()                               # again: nothing

    def test_many_messages_leak_no_descriptor(self):
        pair = self.pair(shared_memory=True)
        pair.client.send(bytes(MIN), TIMEOUT)         # (the ring, once)
        self.assertEqual(pair.server.recv(TIMEOUT), bytes(MIN))
        fds = open_fds()
        for i in range(200):
            pair.client.send(bytes([i & 0xFF]) * MIN, TIMEOUT)
            self.assertEqual(pair.server.recv(TIMEOUT)[0], i & 0xFF)
        self.assertEqual(open_fds(), fds)

    def test_one_side_opts_in_the_other_refuses_its_frames(self):
        pair = Pair({}, {'shared_memory': True})
        self.addCleanup(pair.close)
        pair.client.send(bytes(MIN), TIMEOUT)
        with self.assertRaises(npipes.FrameError):
            pair.server.recv(TIMEOUT)


class SenderSide(unittest.TestCase):
    """What the sender guarantees: sealed files, and a bounded number of
    them in flight."""

    def test_the_file_received_is_sealed_for_good(self):
        with npipes.Listener(pipe_name()) as listener:
            client = npipes.connect(   # (MIN is larger than its ring)
                listener.name, TIMEOUT,
                shared_memory=SharedMemory(max_in_flight=MIN // 2))
            server = listener.accept(TIMEOUT)
            raw = socket.socket(fileno=os.dup(
                server.transport_stream.capabilities().socket.fileno()))
            try:
                client.send(b'z' * MIN, TIMEOUT)
                fds = array.array('i')
                data, anc, _, _ = raw.recvmsg(1024, socket.CMSG_SPACE(4))
                fds.frombytes(anc[0][2])
                self.assertEqual(len(fds), 1)
                fd = fds[0]
                self.assertEqual(fcntl.fcntl(fd, fcntl.F_GET_SEALS),
                                 fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
                                 | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
                for attempt in (lambda: os.pwrite(fd, b'y', 0),
                                lambda: os.ftruncate(fd, 1),
                                lambda: os.ftruncate(fd, 2 * MIN),
                                lambda: mmap.mmap(fd, MIN),
                                lambda: fcntl.fcntl(fd, fcntl.F_ADD_SEALS, 0)):
                    with self.assertRaises(PermissionError):
                        attempt()
                self.assertEqual(os.pread(fd, MIN, 0), b'z' * MIN)
                os.close(fd)
                message_length = int.from_bytes(data[:4], 'big')
                self.assertEqual(message_length, (32 + 8) ^ FLAG)
            finally:
                raw.close()
                server.close()
                client.close()

    def test_a_peer_that_never_reads_makes_the_sender_wait(self):
        """Through the ring: at most its capacity in flight, one file."""
        self.never_reads(MIN, 4, 1, 1)

    def test_a_peer_that_never_reads_pins_one_budget_of_files(self):
        """Larger than the ring: a file each, at most one budget plus one
        payload in flight (§3.4)."""
        self.never_reads(4 * MIN + 1, 1, 1, 2)

    def never_reads(self, size, fit, files, files_after):
        option = SharedMemory(max_in_flight=4 * MIN)
        created = []
        real = os.memfd_create

        def counting(*args):
            created.append(1)
            return real(*args)

        with npipes.Listener(pipe_name(), shared_memory=True) as listener:
            client = npipes.connect(listener.name, TIMEOUT,
                                    shared_memory=option)
            server = listener.accept(TIMEOUT)
            try:
                with mock.patch('os.memfd_create', counting):
                    for _ in range(fit):
                        client.send(b'x' * size, TIMEOUT)
                    with self.assertRaises(PipeTimeoutError):
                        client.send(b'y' * size, 0.3)
                    self.assertEqual(len(created), files)
                    for _ in range(fit):            # the peer reads at last
                        self.assertEqual(server.recv(TIMEOUT), b'x' * size)
                    client.send(b'z' * size, TIMEOUT)
                    self.assertEqual(len(created), files_after)
                self.assertEqual(server.recv(TIMEOUT), b'z' * size)
            finally:
                client.close()
                server.close()


class NotAvailable(unittest.TestCase):

    def test_a_stream_without_it_refuses_when_the_connection_is_made(self):
        class Plain:
            def capabilities(self):
                return Capabilities()

            def recv_into(self, view, deadline):
                return 0

            def close(self):
                pass

        with self.assertRaisesRegex(SharedMemoryError, sys.platform):
            npipes.Connection(Plain(), shared_memory=True)
        npipes.Connection(Plain(), shared_memory=False).close()

    def test_option_is_validated(self):
        for bad in (dict(min_payload=0), dict(max_in_flight=0),
                    dict(min_payload=True), dict(max_in_flight=1.5)):
            with self.assertRaises(ValueError):
                SharedMemory(**bad)
        with self.assertRaises(TypeError):
            npipes.Listener(pipe_name(), shared_memory='yes')
        with self.assertRaises(AttributeError):
            SharedMemory().min_payload = 1            # frozen


class Plumbing(unittest.TestCase):
    """The option through IPC and a Listener's threads."""

    def test_ipc(self):
        name = pipe_name()
        text = 'x' * (2 * MIN)
        got = {}

        def receive():
            got['text'] = npipes.IPC(name, timeout=TIMEOUT,
                                     shared_memory=True).receive_message()
        t = threading.Thread(target=receive)
        t.start()
        self.assertTrue(npipes.IPC(name, timeout=TIMEOUT, shared_memory=True)
                        .send_message(text, crc=True))
        join(t)
        self.assertEqual(got['text'], text)

    def test_listener_serve_forever(self):
        listener = npipes.Listener(pipe_name(), shared_memory=True)
        seen = []

        def echo(conn):
            with conn.recv_buffer() as got:
                seen.append(got.shared)
                conn.send(got.view.tobytes())
        t = threading.Thread(target=listener.serve_forever, args=(echo,))
        t.start()
        try:
            with npipes.connect(listener.name, TIMEOUT,
                                shared_memory=True) as client:
                data = os.urandom(5 * MIN)
                self.assertEqual(client.request(data, TIMEOUT), data)
        finally:
            listener.close()
            join(t)
        self.assertEqual(seen, [True])


if __name__ == '__main__':
    unittest.main()
