"""Shared memory red team (docs/shared-memory.md §2-§5): a raw socket peer
of the test's making sends descriptor frames and files no well-behaved
sender would; every one is a typed refusal, nothing refused is mapped, and
no descriptor leaks."""

import os
import socket
import sys
import tempfile
import unittest
from unittest import mock

if not sys.platform.startswith('linux'):
    raise unittest.SkipTest('shared memory is Linux only')

from tests.shm_support import (crc, descriptor_frame, inline_frame, memfd,
                               open_fds, pipe_name, raw_client,
                               raw_descriptor, send_with)

import npipes
from npipes import (CrcMismatchError, FrameError, IncompleteFrameError,
                    SharedMemoryError)
from npipes._shmframe import FLAG, DescriptorCodec

TIMEOUT = 10
DATA = bytes(range(256)) * 512            # 128 KiB


class Attacks(unittest.TestCase):
    """One receiving Listener per test, shared memory on; the attacker
    connects with a plain socket."""

    crc_on = False
    max_payload = npipes.connection.DEFAULT_MAX_PAYLOAD

    def setUp(self):
        self.listener = npipes.Listener(pipe_name(), shared_memory=True,
                                        crc=self.crc_on,
                                        max_payload=self.max_payload)
        self.attacker = raw_client(self.listener.address)
        self.conn = self.listener.accept(TIMEOUT)
        # (the Listener's own descriptors are not this test's business)
        self.fds_before = open_fds() - 2

    def tearDown(self):
        self.attacker.close()
        self.conn.close()
        try:
            self.assertEqual(open_fds(), self.fds_before,
                             'descriptors leaked')
        finally:
            self.listener.close()

    def refused(self, pattern, error=SharedMemoryError):
        with self.assertRaisesRegex(error, pattern):
            self.conn.recv(TIMEOUT)
        self.assertEqual(self.conn.closed, error is SharedMemoryError)

    def frame(self, length=len(DATA)):
        """A descriptor frame with this connection's CRC rule."""
        return descriptor_frame(length, crc(DATA), self.crc_on)

    def send_file(self, fd, frame=None, length=len(DATA)):
        try:
            send_with(self.attacker, frame or self.frame(length), fd)
        finally:
            os.close(fd)

    # -- files and frames that do not pair up (§4.1) -----------------------
    def test_descriptor_frame_without_a_file(self):
        send_with(self.attacker, self.frame())
        self.refused('without its file')

    def test_file_without_a_descriptor_frame(self):
        self.send_file(memfd(DATA), inline_frame(b'hello', self.crc_on))
        self.refused('not a descriptor frame')

    def test_two_files_in_one_message(self):
        one, two = memfd(DATA), memfd(DATA)
        try:
            send_with(self.attacker, self.frame(), one, two)
        finally:
            os.close(one)
            os.close(two)
        self.refused('more than one file')

    def test_two_files_in_two_parts_of_one_frame(self):
        frame = self.frame()
        self.send_file(memfd(DATA), frame[:4])
        self.send_file(memfd(DATA), frame[4:])
        self.refused('2 files')

    # -- files that are not what they must be (§4.3-4) ---------------------
    def test_regular_file(self):
        with tempfile.TemporaryFile() as f:
            f.write(DATA)
            f.flush()
            self.send_file(os.dup(f.fileno()))
        self.refused('not a memfd')

    def test_pipe(self):
        r, w = os.pipe()
        os.close(w)
        self.send_file(r)
        self.refused('not a regular file')

    def test_socket(self):
        a, b = socket.socketpair()
        b.close()
        self.send_file(a.detach())
        self.refused('not a regular file')

    def test_memfd_without_write_seal(self):
        self.send_file(memfd(DATA, fcntl_seals(write=False)))
        self.refused('sealed against writing')

    def test_memfd_without_shrink_seal(self):
        self.send_file(memfd(DATA, fcntl_seals(shrink=False)))
        self.refused('sealed against writing, growing and shrinking')

    def test_unsealed_memfd(self):
        self.send_file(memfd(DATA, seals=0))
        self.refused('not a memfd sealed')

    def test_size_larger_than_announced(self):
        self.send_file(memfd(DATA), length=len(DATA) - 1)
        self.refused('holds 131072 bytes, the descriptor announces 131071')

    def test_size_smaller_than_announced(self):
        self.send_file(memfd(DATA), length=len(DATA) + 4096)
        self.refused('holds 131072 bytes')

    def test_announced_over_the_limit_is_refused_before_mapping(self):
        big = 64 * 1024 * 1024             # over the default 16 MiB
        with mock.patch('mmap.mmap') as mapping:
            self.send_file(memfd(b'', size=big), length=big)
            self.refused('exceeds the maximum')
        mapping.assert_not_called()

    def test_empty_payload(self):
        self.send_file(memfd(b''), length=0)
        self.refused('empty payload')

    # -- the descriptor itself (§2) ----------------------------------------
    def _descriptor(self, **fields):
        return raw_descriptor(self.crc_on, **dict(dict(length=len(DATA)),
                                                  **fields))

    def bad_field(self, pattern, **fields):
        self.send_file(memfd(DATA), self._descriptor(**fields))
        self.refused(pattern)

    def test_wrong_version(self):
        self.bad_field('version 2', version=2)

    def test_unknown_kind(self):
        self.bad_field('kind 7', kind=7)

    def test_kind_1_with_a_position(self):
        self.bad_field('position 4096', position=4096)

    def test_kind_1_with_flags(self):
        self.bad_field('flags 0x1', flags=1)

    def test_kind_3_a_windows_section_is_refused_on_linux(self):
        self.attacker.sendall(raw_descriptor(
            self.crc_on, kind=3, length=4096 + 65536, position=0x44))
        self.refused('kind 3 .*Windows.*refused')

    def test_kind_3_with_a_file_beside_it(self):
        self.send_file(memfd(DATA), raw_descriptor(
            self.crc_on, kind=3, length=4096 + 65536))
        self.refused('kind 3')

    def test_descriptor_data_length_not_32(self):
        frame = self._descriptor()
        data = frame[8:40] + b'\0' * 8
        header = DescriptorCodec('big')._header.pack((40 + 8) ^ FLAG, 40)
        self.send_file(memfd(DATA), header + data + bytes(4))  # header first
        self.refused('DataLength 40')

    # -- the peer goes away ------------------------------------------------
    def test_peer_closes_mid_descriptor_frame(self):
        self.send_file(memfd(DATA), self.frame()[:20])
        self.attacker.close()
        with self.assertRaises(IncompleteFrameError):
            self.conn.recv(TIMEOUT)
        self.conn.close()          # the queued file is closed with it

    def test_many_refusals_leak_nothing(self):
        for _ in range(20):
            conn, attacker = self.conn, self.attacker
            self.send_file(memfd(DATA, seals=0))
            with self.assertRaises(SharedMemoryError):
                conn.recv(TIMEOUT)
            attacker.close()
            self.attacker = raw_client(self.listener.address)
            self.conn = self.listener.accept(TIMEOUT)


class AttacksWithCrc(Attacks):
    """The same, with CRC on; plus the two CRC checks."""

    crc_on = True

    def test_descriptor_crc_wrong(self):
        frame = bytearray(descriptor_frame(len(DATA), crc(DATA), crc=True))
        frame[-1] ^= 1
        self.send_file(memfd(DATA), bytes(frame))
        self.refused('CRC-32 mismatch', CrcMismatchError)
        self.send_file(memfd(DATA), descriptor_frame(len(DATA), crc(DATA),
                                                     crc=True))
        self.assertEqual(self.conn.recv(TIMEOUT), DATA)   # still in step

    def test_payload_crc_wrong(self):
        self.send_file(memfd(DATA), descriptor_frame(len(DATA), crc(DATA) ^ 1,
                                                     crc=True))
        self.refused('CRC-32 mismatch: the descriptor says')


def fcntl_seals(write=True, shrink=True):
    import fcntl
    seals = fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
    if write:
        seals |= fcntl.F_SEAL_WRITE
    if shrink:
        seals |= fcntl.F_SEAL_SHRINK
    return seals


class WithoutSharedMemory(unittest.TestCase):
    """A peer without shared memory refuses a descriptor frame from its
    header (a typed frame error; the hint is _hints.py's)."""

    def test_refused_from_the_header(self):
        with npipes.Listener(pipe_name()) as listener:
            fds = open_fds()
            attacker = raw_client(listener.address)
            try:
                with listener.accept(TIMEOUT) as conn:
                    fd = memfd(DATA)
                    send_with(attacker, descriptor_frame(len(DATA)), fd)
                    os.close(fd)
                    with self.assertRaises(FrameError) as caught:
                        conn.recv(TIMEOUT)
                    self.assertNotIsInstance(caught.exception,
                                             SharedMemoryError)
            finally:
                attacker.close()
            self.assertEqual(open_fds(), fds)


if __name__ == '__main__':
    unittest.main()
