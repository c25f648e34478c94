"""The ring (docs/shared-memory.md §8) between two npipes peers: slots
placed at growing positions, moved up at the end of the ring and when all
is consumed; in-place messages in the ring; payloads larger than the ring
in files of their own; nothing left mapped or open after close."""

import os
import sys
import unittest

if not sys.platform.startswith('linux'):
    raise unittest.SkipTest('shared memory is Linux only')

from tests.shm_support import PAGE, open_fds, pipe_name, ring_maps

import npipes
from npipes import PipeTimeoutError, SharedMemory

TIMEOUT = 10
MIN = SharedMemory().min_payload
CAPACITY = 4 * MIN


class Ring(unittest.TestCase):

    def pair(self, option=SharedMemory(max_in_flight=CAPACITY), **options):
        listener = npipes.Listener(pipe_name(), shared_memory=option,
                                   **options)
        self.addCleanup(listener.close)
        client = npipes.connect(listener.name, TIMEOUT, shared_memory=option,
                                **options)
        self.addCleanup(client.close)
        server = listener.accept(TIMEOUT)
        self.addCleanup(server.close)
        return client, server

    def position(self, conn):
        """The end of the last slot *conn* sent."""
        return conn._shm.ring_out.end

    def test_many_messages_cycle_past_the_end(self):
        for crc in (False, True):
            for endian in ('big', 'little'):
                with self.subTest(crc=crc, endian=endian):
                    client, server = self.pair(crc=crc, endian=endian)
                    sent = []
                    for i in range(60):        # two in flight at a time
                        data = os.urandom(MIN + 4096 * (i % 7) + i)
                        client.send(data, TIMEOUT)
                        sent.append(data)
                        if len(sent) == 2:
                            for data in sent:
                                got = server.recv_buffer(TIMEOUT)
                                self.assertTrue(got.shared)
                                self.assertEqual(got.view, data)
                                got.release()
                            sent.clear()
                    self.assertGreater(self.position(client), 10 * CAPACITY)

    def test_a_slot_that_would_wrap_moves_to_the_next_multiple(self):
        client, server = self.pair()
        first, second = os.urandom(3 * MIN), os.urandom(MIN // 2)
        client.send(first, TIMEOUT)
        client.send(second, TIMEOUT)           # at 3 MIN: fits before the end
        self.assertEqual(server.recv(TIMEOUT), first)   # consumed: 3 MIN
        third = os.urandom(2 * MIN)
        client.send(third, TIMEOUT)            # would wrap: at 4 MIN
        self.assertEqual(self.position(client), CAPACITY + 2 * MIN)
        self.assertEqual(server.recv(TIMEOUT), second)
        self.assertEqual(server.recv(TIMEOUT), third)

    def test_all_consumed_moves_to_the_next_multiple(self):
        client, server = self.pair()
        for i in range(1, 4):                  # a request and its reply
            client.send(bytes([i]) * MIN, TIMEOUT)
            self.assertEqual(server.recv(TIMEOUT), bytes([i]) * MIN)
            self.assertEqual(self.position(client), (i - 1) * CAPACITY + MIN)

    def test_a_full_ring_makes_the_sender_wait(self):
        client, server = self.pair()
        for _ in range(4):
            client.send(bytes(MIN), TIMEOUT)
        with self.assertRaises(PipeTimeoutError):
            client.send(b'x' * MIN, 0.3)       # no more than capacity
        with self.assertRaises(PipeTimeoutError):
            client.create_message(MIN, timeout=0.3)
        self.assertEqual(server.recv(TIMEOUT), bytes(MIN))
        client.send(b'y' * MIN, TIMEOUT)       # room for one again
        for _ in range(3):
            self.assertEqual(server.recv(TIMEOUT), bytes(MIN))
        self.assertEqual(server.recv(TIMEOUT), b'y' * MIN)

    def test_create_message_writes_in_the_ring(self):
        for crc in (False, True):
            with self.subTest(crc=crc):
                client, server = self.pair(crc=crc)
                client.send(bytes(MIN), TIMEOUT)         # (the ring, once)
                server.recv(TIMEOUT)
                ring = client._shm.ring_out.mapping.view
                with client.create_message(2 * MIN) as message:
                    message.buffer[:] = b'r' * (2 * MIN)
                    start = PAGE + CAPACITY % CAPACITY
                    self.assertEqual(ring[start:start + 2 * MIN],
                                     b'r' * (2 * MIN))   # in place
                    with client.create_message(MIN) as other:
                        other.buffer[:] = b'o' * MIN     # the ring is busy:
                        other.send(TIMEOUT)              # a file of its own
                    message.send(TIMEOUT)
                got = server.recv_buffer(TIMEOUT)
                self.assertIsNot(type(got.view.obj), bytes)   # a mapping
                self.assertEqual(got.view, b'o' * MIN)
                got.release()
                self.assertEqual(server.recv(TIMEOUT), b'r' * (2 * MIN))

    def test_an_abandoned_slot_is_taken_by_the_next_message(self):
        client, server = self.pair()
        with client.create_message(MIN) as message:
            message.buffer[:] = b'a' * MIN
        client.send(b'b' * MIN, TIMEOUT)
        self.assertEqual(server.recv(TIMEOUT), b'b' * MIN)
        self.assertEqual(self.position(client), MIN)

    def test_larger_than_the_ring_goes_in_a_file_of_its_own(self):
        client, server = self.pair()
        data = os.urandom(CAPACITY + 1)
        client.send(data, TIMEOUT)
        with server.recv_buffer(TIMEOUT) as got:
            self.assertTrue(got.shared)
            self.assertIsNot(type(got.view.obj), bytes)   # a mapping
            self.assertEqual(got.view, data)
        self.assertIsNone(client._shm.ring_out)           # no ring made

    def test_closing_unmaps_the_rings_and_closes_everything(self):
        client, server = self.pair()
        fds = open_fds()
        for conn, peer in ((client, server), (server, client)):
            conn.send(bytes(MIN), TIMEOUT)
            self.assertEqual(peer.recv(TIMEOUT), bytes(MIN))
        self.assertEqual(ring_maps(), 6)   # each side: its own, the peer's 2
        during = open_fds()
        for i in range(100):
            client.send(bytes([i]) * MIN, TIMEOUT)
            self.assertEqual(server.recv(TIMEOUT)[0], i)
        self.assertEqual(open_fds(), during)
        client.close()
        server.close()
        self.assertEqual(ring_maps(), 0)
        self.assertEqual(open_fds(), fds - 2)      # (their sockets)


if __name__ == '__main__':
    unittest.main()
