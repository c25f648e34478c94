"""The ring's red team (docs/shared-memory.md §8): a raw socket peer that
breaks the ring's rules, as a sender (the npipes receiver refuses, typed,
before reading the slot) and as a receiver (the npipes sender refuses a
``consumed`` it could not have reported).  No descriptor leaks."""

import os
import socket
import sys
import tempfile
import unittest

if not sys.platform.startswith('linux'):
    raise unittest.SkipTest('shared memory is Linux only')

from tests.shm_support import (PAGE, consumed, crc, memfd, open_fds,
                               pipe_name, raw_client, ring_file, ring_frame,
                               ring_maps, send_with)

import npipes
from npipes import SharedMemory, SharedMemoryError

TIMEOUT = 10
CAPACITY = 16 * PAGE
DATA = bytes(range(256)) * 16                # 4 KiB


class RingSenderAttacks(unittest.TestCase):
    """The attacker sends; an npipes connection with shared memory on
    receives."""

    crc_on = False

    def setUp(self):
        self.listener = npipes.Listener(pipe_name(), shared_memory=True,
                                        crc=self.crc_on, max_payload=8 * PAGE)
        self.addCleanup(self.listener.close)
        self.attacker = raw_client(self.listener.address)
        self.conn = self.listener.accept(TIMEOUT)
        self.fds_before = open_fds() - 2
        self.mapping = None

    def tearDown(self):
        self.attacker.close()
        self.conn.close()
        if self.mapping is not None:
            self.mapping.close()
        self.assertEqual(open_fds(), self.fds_before, 'descriptors leaked')
        self.assertEqual(ring_maps(), 0, 'a ring is still mapped')

    def frame(self, position, data=DATA, flags=0, length=None):
        return ring_frame(position, len(data) if length is None else length,
                          crc(data), self.crc_on, flags)

    def attach(self, fd, position=0, data=DATA, **fields):
        """Send the first slot with the ring's file *fd* (closed here)."""
        try:
            send_with(self.attacker, self.frame(position, data, flags=1,
                                                **fields), fd)
        finally:
            os.close(fd)

    def ring(self, data=DATA, position=0):
        """A good ring whose first slot (at *position*) holds *data*."""
        fd, self.mapping = ring_file(CAPACITY)
        start = PAGE + position % CAPACITY
        self.mapping[start:start + len(data)] = data
        self.attach(fd, position, data)
        self.assertEqual(self.conn.recv(TIMEOUT), data)

    def slot(self, position, data=DATA, **fields):
        start = PAGE + position % CAPACITY
        self.mapping[start:start + len(data)] = data
        send_with(self.attacker, self.frame(position, data, **fields))

    def refused(self, pattern):
        with self.assertRaisesRegex(SharedMemoryError, pattern):
            self.conn.recv(TIMEOUT)
        self.assertTrue(self.conn.closed)

    # -- the ring's file -------------------------------------------------
    def test_a_good_ring_is_copied_out_and_consumed_is_stored(self):
        self.ring()
        self.assertEqual(consumed(self.mapping), len(DATA))
        self.slot(CAPACITY - len(DATA))              # the last bytes
        got = self.conn.recv(TIMEOUT)
        self.assertEqual(consumed(self.mapping), CAPACITY)
        self.mapping[PAGE + CAPACITY - len(DATA):] = bytes(len(DATA))
        self.assertEqual(got, DATA)         # a copy: the scribble is not seen

    def test_slot_before_any_ring(self):
        send_with(self.attacker, self.frame(0))
        self.refused('before any ring')

    def test_a_second_ring(self):
        self.ring()
        fd, second = ring_file(CAPACITY)
        second.close()
        self.attach(fd, len(DATA))
        self.refused('second ring')

    def test_ring_file_unsealed(self):
        fd, mapping = ring_file(CAPACITY, seals=0)
        mapping.close()
        self.attach(fd)
        self.refused('not a memfd sealed against growing')

    def test_ring_file_not_a_memfd(self):
        with tempfile.TemporaryFile() as file:
            file.truncate(PAGE + CAPACITY)
            self.attach(os.dup(file.fileno()))
        self.refused('not a memfd')

    def test_ring_file_opened_read_only(self):
        fd, mapping = ring_file(CAPACITY)
        mapping.close()
        try:
            read_only = os.open(f'/proc/self/fd/{fd}', os.O_RDONLY)
        finally:
            os.close(fd)
        self.attach(read_only)
        self.refused('ring received cannot be mapped')

    def wrong_size(self, size):
        fd, mapping = ring_file(CAPACITY, size=size)
        mapping.close()
        self.attach(fd)
        self.refused('data region must be a non-zero multiple')

    def test_ring_without_a_data_region(self):
        self.wrong_size(PAGE)

    def test_ring_one_byte_over(self):
        self.wrong_size(PAGE + CAPACITY + 1)

    def test_ring_capacity_not_a_multiple_of_4096(self):
        self.wrong_size(PAGE + 5000)

    def test_ring_over_1_GiB_is_refused_before_mapping(self):
        fd, mapping = ring_file(CAPACITY, size=PAGE + (2 << 30))
        mapping.close()
        self.attach(fd)
        self.refused(f'holds {PAGE + (2 << 30)} bytes')

    # -- slots -------------------------------------------------------------
    def test_position_going_backwards(self):
        self.ring(position=PAGE)
        self.slot(0)
        self.refused('previous one ended at 8192')

    def test_position_jumping_a_capacity_ahead(self):
        self.ring()
        self.slot(len(DATA) + CAPACITY)
        self.refused('previous one ended')

    def test_slot_wrapping(self):
        self.ring()
        send_with(self.attacker, self.frame(CAPACITY - 100))
        self.refused('wraps past the end')

    def test_length_over_the_capacity(self):
        fd, self.mapping = ring_file(4 * PAGE)    # (smaller than the limit)
        self.mapping[PAGE:PAGE + len(DATA)] = DATA
        self.attach(fd)
        self.assertEqual(self.conn.recv(TIMEOUT), DATA)
        send_with(self.attacker, self.frame(4 * PAGE, length=5 * PAGE))
        self.refused('20480 bytes does not fit the ring of 16384')

    def test_length_over_the_limit(self):
        self.ring()
        send_with(self.attacker, self.frame(CAPACITY, length=8 * PAGE + 1))
        self.refused('exceeds the maximum')

    def test_flags_bits_not_defined(self):
        self.ring()
        self.slot(CAPACITY, flags=2)
        self.refused('flags 0x2')

    def test_ring_flag_without_its_file(self):
        send_with(self.attacker, self.frame(0, flags=1))
        self.refused('without its file')

    def test_a_file_with_a_slot_without_the_flag(self):
        self.ring()
        fd = memfd(DATA)
        try:
            send_with(self.attacker, self.frame(CAPACITY), fd)
        finally:
            os.close(fd)
        self.refused('not a descriptor frame|file arrived')


class RingSenderAttacksWithCrc(RingSenderAttacks):

    crc_on = True

    def test_scribbling_after_sending_is_a_crc_mismatch(self):
        self.ring()
        self.slot(CAPACITY)
        self.mapping[PAGE:PAGE + 10] = b'scribbled!'
        self.refused('CRC-32 mismatch')


class RingReceiverAttacks(unittest.TestCase):
    """The attacker receives: it holds the control page and reports a
    ``consumed`` no receiver could."""

    def setUp(self):
        self.listener = npipes.Listener(pipe_name())
        self.addCleanup(self.listener.close)
        self.client = npipes.connect(
            self.listener.name, TIMEOUT,
            shared_memory=SharedMemory(min_payload=PAGE,
                                       max_in_flight=CAPACITY))
        self.server = self.listener.accept(TIMEOUT)
        self.raw = socket.socket(fileno=os.dup(
            self.server.transport_stream.capabilities().socket.fileno()))
        self.control = None

    def tearDown(self):
        self.raw.close()
        self.server.close()
        self.client.close()
        if self.control is not None:
            self.control.close()
        self.assertEqual(ring_maps(), 0, 'a ring is still mapped')

    def first(self):
        """Receive the first slot's frame and the ring's file; map its
        control page."""
        import array
        import mmap
        self.client.send(bytes(4 * PAGE), TIMEOUT)
        _, anc, _, _ = self.raw.recvmsg(40, socket.CMSG_SPACE(4))
        fds = array.array('i')
        fds.frombytes(anc[0][2])
        try:
            self.control = mmap.mmap(fds[0], PAGE)
        finally:
            os.close(fds[0])

    def report(self, value):
        self.control[:8] = value.to_bytes(8, 'little')

    def sender_refuses(self):
        with self.assertRaisesRegex(SharedMemoryError, 'consumed'):
            self.client.send(bytes(4 * PAGE), TIMEOUT)
        self.assertTrue(self.client.closed)

    def test_consumed_beyond_what_was_sent(self):
        self.first()
        self.report(4 * PAGE + 1)
        self.sender_refuses()

    def test_consumed_going_backwards(self):
        self.first()
        self.report(4 * PAGE)
        self.client.send(bytes(4 * PAGE), TIMEOUT)   # (at the next multiple)
        self.report(0)
        self.sender_refuses()

    def test_an_honest_consumed_lets_the_sender_reuse_the_pages(self):
        self.first()
        for _ in range(3):
            self.report(self.client._shm.ring_out.end)
            self.client.send(bytes(4 * PAGE), TIMEOUT)
        self.assertEqual(self.client._shm.ring_out.end, 3 * CAPACITY
                         + 4 * PAGE)


if __name__ == '__main__':
    unittest.main()
