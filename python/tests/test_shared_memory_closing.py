"""A connection closed (by another thread) while a shared-memory send or
receive runs (docs/shared-memory.md §8): that send or receive fails as on
a closed connection (NPipesError 'connection is closed', not an
AssertionError, a released-view ValueError or a refusal of the peer), no
ring is made or taken after the close to be left open, and memory the
ring code is using stays mapped until it is done.  The other thread's
close is made to land at each point by calling it there."""

import os
import sys
import unittest

if not sys.platform.startswith('linux'):
    raise unittest.SkipTest('shared memory over memfds is Linux only')

from tests.shm_support import open_fds, pipe_name, ring_maps

import npipes
from npipes import NPipesError
from npipes import _memfd
from npipes._shmframe import KIND_RING, RING_FILE, DescriptorCodec
from npipes._shmring import PAGE, RingReader, RingWriter, _held

TIMEOUT = 10
SIZE = 64 * 1024                        # through the ring
CAPACITY = 16 * PAGE
CLOSED = 'connection is closed'


def slot_descriptor(flags):
    """A received kind-2 descriptor of the first slot, as decoded."""
    codec = DescriptorCodec('big')
    return codec.parse(codec.frame(SIZE, 0, False, KIND_RING, 0, flags)[8:40])


class ClosedWhileInUse(unittest.TestCase):

    def setUp(self):
        self.maps, self.fds = ring_maps(), open_fds()
        name = pipe_name()
        listener = npipes.Listener(name, shared_memory=True)
        self.addCleanup(listener.close)
        self.client = npipes.connect(name, shared_memory=True,
                                     timeout=TIMEOUT)
        self.addCleanup(self.client.close)
        self.server = listener.accept(TIMEOUT)
        self.addCleanup(self.server.close)

    def tearDown(self):
        self.doCleanups()
        self.assertEqual(ring_maps(), self.maps, 'a ring is still mapped')
        self.assertEqual(open_fds(), self.fds, 'descriptors leaked')

    def test_a_message_written_in_place_then_sent_after_close(self):
        message = self.client.create_message(SIZE, TIMEOUT)
        self.client.close()
        with self.assertRaisesRegex(NPipesError, CLOSED):
            message.send()              # (was: 'a view ... is still in use')

    def test_no_ring_is_made_once_closed(self):
        link = self.client._shm
        self.client.close()             # after this send's closed check
        with self.assertRaisesRegex(NPipesError, CLOSED):
            link.ring_place(SIZE)       # (was: a ring made, left open)
        self.assertIsNone(link.ring_out)

    def test_the_slot_s_ring_gone_is_a_closed_error(self):
        link = self.client._shm
        position = link.ring_place(SIZE)
        self.client.close()
        for call in (lambda: link.ring_room(position, SIZE),
                     lambda: link.ring_write(position, bytes(SIZE)),
                     lambda: link.ring_slot(position, SIZE),
                     lambda: link.ring_sent(position, SIZE)):
            with self.assertRaisesRegex(NPipesError, CLOSED):
                call()                  # (was: AssertionError)

    def test_a_ring_slot_after_close_is_not_a_peer_s_refusal(self):
        link = self.server._shm
        self.server.close()
        found = slot_descriptor(0)
        with self.assertRaisesRegex(NPipesError, CLOSED) as caught:
            link.received(found, None)
        self.assertNotIsInstance(caught.exception, npipes.SharedMemoryError)

    def test_no_ring_is_taken_once_closed(self):
        link = self.server._shm
        fd, memory = _memfd.create_ring(CAPACITY)
        writer = RingWriter(fd, memory, CAPACITY, os.close)
        self.addCleanup(writer.close)
        link.files.queued.append(os.dup(fd))   # (as it arrives with a frame)
        self.server.close()
        link.files.queued.append(os.dup(fd))   # (read before the close)
        found = slot_descriptor(RING_FILE)
        with self.assertRaisesRegex(NPipesError, CLOSED):
            link._take_ring(found, '')  # (was: mapped on a closed link)
        self.assertIsNone(link.ring_in)


class AbandonedWithAViewHeld(unittest.TestCase):
    """A message written in place and abandoned while the caller still
    holds a view of it: no error (it was BufferError for a file's), the
    memory and file let go of with the view."""

    def test_in_a_file_and_in_the_ring(self):
        name = pipe_name()
        option = npipes.SharedMemory(max_in_flight=1 << 20)  # (ring: 1 MiB)
        listener = npipes.Listener(name, shared_memory=option)
        self.addCleanup(listener.close)
        client = npipes.connect(name, shared_memory=option, timeout=TIMEOUT)
        self.addCleanup(client.close)
        self.addCleanup(listener.accept(TIMEOUT).close)
        fds = open_fds()
        for length in (2 << 20, SIZE):          # a file, a ring slot
            message = client.create_message(length, TIMEOUT)
            view = message.buffer[:6]
            with message:
                pass                            # (abandoned)
            view[:] = b'in use'                 # still mapped
            del view, message
            if length != SIZE:                  # (the ring keeps its file)
                self.assertEqual(open_fds(), fds, 'the file is still open')
        client.send(bytes(SIZE))                # the ring is free again


class RingsClosed(unittest.TestCase):
    """A ring used once closed fails as closed; what it is using stays
    mapped until it is done, then goes."""

    def setUp(self):
        self.maps, self.fds = ring_maps(), open_fds()
        fd, memory = _memfd.create_ring(CAPACITY)
        self.writer = RingWriter(fd, memory, CAPACITY, os.close)
        self.reader = RingReader(*_memfd.map_ring(os.dup(fd)))

    def tearDown(self):
        self.writer.close()
        self.reader.close()
        self.assertEqual(ring_maps(), self.maps, 'a ring is still mapped')
        self.assertEqual(open_fds(), self.fds, 'descriptors leaked')

    def test_writer_and_reader_closed(self):
        self.writer.close()
        self.reader.close()
        for call in (self.writer.consumed,
                     lambda: self.writer.write(0, b'data'),
                     lambda: self.reader.take(0, 4, None)):
            with self.assertRaisesRegex(NPipesError, CLOSED):
                call()                  # (was: AssertionError, ValueError)

    def test_memory_in_use_stays_mapped_through_close(self):
        self.writer.write(0, b'in use')
        data = self.reader.data
        with _held(data) as view:
            self.reader.close()         # (the other thread)
            self.assertEqual(bytes(view[:6]), b'in use')
            self.assertEqual(ring_maps(), self.maps + 2)    # still mapped
        self.assertEqual(ring_maps(), self.maps + 1)        # the writer's
        with self.assertRaisesRegex(NPipesError, CLOSED):
            _held(data)


if __name__ == '__main__':
    unittest.main()
