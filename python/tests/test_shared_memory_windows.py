"""Shared memory on Windows (docs/shared-memory.md §9), the parts that run
anywhere: the kind-3 descriptor, the real-Windows view of a mapping
(_win32shm.view_at, here over an mmap's address), and the Windows port's
attach checks (_winshm.SectionPort) over stand-in section calls that record
what is opened and closed.  The real calls run in the python-windows lane
(tests/wine/wine_shm.py)."""

import ctypes
import mmap
import unittest
from unittest import mock

from npipes import SharedMemory, SharedMemoryError
from npipes import _win32shm, _winshm
from npipes._shmframe import KIND_SECTION, DescriptorCodec
from npipes._shmlink import ShmLink
from npipes._shmring import PAGE, RingWriter, Slot

CAPACITY = 16 * PAGE
SIZE = PAGE + CAPACITY


class KindThree(unittest.TestCase):

    def test_round_trip_and_refusals(self):
        for endian in ('big', 'little'):
            codec = DescriptorCodec(endian)
            frame = codec.frame(SIZE, 0, True, KIND_SECTION, 0x1234)
            found = codec.parse(frame[8:40])
            self.assertEqual((found.kind, found.length, found.position,
                              found.flags, found.crc),
                             (3, SIZE, 0x1234, 0, 0))
        data = codec._data.pack(1, 3, SIZE, 0, 0x1234, 1)
        with self.assertRaisesRegex(SharedMemoryError, 'kind 3 has flags'):
            codec.parse(data)
        with self.assertRaisesRegex(SharedMemoryError, 'empty payload'):
            codec.parse(codec._data.pack(1, 3, 0, 0, 0x1234, 0))


class ViewAt(unittest.TestCase):
    """The view npipes makes of a MapViewOfFile address on Windows."""

    def setUp(self):
        self.mapping = mmap.mmap(-1, SIZE)
        self.addCleanup(self.mapping.close)
        self.address = ctypes.addressof(ctypes.c_char.from_buffer(
            self.mapping))                  # (mapped until the test ends)
        self.unmapped = []

    def view(self, writable):
        return _win32shm.view_at(self.address, SIZE, writable,
                                 lambda: self.unmapped.append(True))

    def test_writable_view_writes_the_memory_and_unmaps_once(self):
        memory = self.view(True)
        memory.view[PAGE:PAGE + 5] = b'hello'
        ctypes.c_uint64.from_buffer(memory.view).value = 7   # (as consumed)
        self.assertEqual(self.mapping[PAGE:PAGE + 5], b'hello')
        self.assertEqual(self.mapping[:8], (7).to_bytes(8, 'little'))
        memory.close()
        self.assertEqual(self.unmapped, [True])

    def test_read_only_view(self):
        self.mapping[:3] = b'abc'
        memory = self.view(False)
        self.assertTrue(memory.view.readonly)
        self.assertEqual(bytes(memory.view[:3]), b'abc')
        memory.close()
        self.assertEqual(self.unmapped, [True])

    def test_a_view_still_held_keeps_the_memory_mapped_until_it_goes(self):
        self.mapping[3:9] = b'in use'
        memory = self.view(False)
        part = memory.view[3:9]                 # a view of the same memory
        memory.close()
        self.assertEqual(self.unmapped, [])
        self.assertEqual(bytes(part), b'in use')
        with self.assertRaises(ValueError):     # ours is released
            memory.view[0]
        del part
        self.assertEqual(self.unmapped, [True])

    def test_an_exported_view_keeps_the_memory_mapped_until_it_goes(self):
        memory = self.view(True)
        word = ctypes.c_uint64.from_buffer(memory.view)   # (release fails)
        memory.close()
        self.assertEqual(self.unmapped, [])
        word.value = 9
        self.assertEqual(self.mapping[:8], (9).to_bytes(8, 'little'))
        del word
        self.assertEqual(self.unmapped, [True])

    def test_a_ring_whose_slot_is_still_held_is_unmapped_when_it_goes(self):
        ring = RingWriter(None, self.view(True), CAPACITY, None)
        position = ring.place(10)
        slot = Slot(ring.region, position % CAPACITY, 10)
        held = slot.view()
        ring.close()
        self.assertEqual(self.unmapped, [])      # (the caller writes on)
        held[0] = 1
        self.assertEqual(self.mapping[PAGE], 1)
        del held
        self.assertEqual(self.unmapped, [])      # (the slot holds it too)
        slot.drop()
        self.assertEqual(self.unmapped, [True])  # not at process exit
        ring = RingWriter(None, self.view(True), CAPACITY, None)
        ring.close()
        self.assertEqual(self.unmapped, [True, True])


class FakeSections:
    """Stand-ins of _win32shm's calls: handles are ints, views are
    view_at's over memory of the test's; every open and close is recorded."""

    SEC_COMMIT, SEC_FILE, SEC_IMAGE = (_win32shm.SEC_COMMIT,
                                       _win32shm.SEC_FILE, _win32shm.SEC_IMAGE)
    SEC_RESERVE, SEC_LARGE_PAGES = (_win32shm.SEC_RESERVE,
                                    _win32shm.SEC_LARGE_PAGES)

    def __init__(self, attributes=_win32shm.SEC_COMMIT, size=SIZE, fail=None):
        self.attributes, self.size, self.fail = attributes, size, fail
        self.calls, self.open = [], set()
        self._next = 100
        self._backing = []

    def _call(self, name, error=6):
        self.calls.append(name)
        if name == self.fail:
            exc = OSError(None, f'{name} failed: stand-in', None, error)
            exc.winerror = error            # (set by OSError on Windows only)
            raise exc

    def _handle(self):
        self._next += 4
        self.open.add(self._next)
        return self._next

    def open_process(self, pid):
        self._call('OpenProcess', 5 if pid == 666 else 87)
        return self._handle()

    def duplicate_from(self, process, value):
        self._call('DuplicateHandle')
        return self._handle()

    def query_section(self, section):
        self._call('NtQuerySection')
        return self.attributes, self.size

    def create_section(self, size):
        self._call('CreateFileMapping')
        return self._handle()

    def map_view(self, section, writable, size):
        """The real view_at over memory of ours (kept to the end)."""
        self._call('MapViewOfFile' + ('W' if writable else 'R'))
        self.open.add(('view', writable))
        backing = ctypes.create_string_buffer(size)
        self._backing.append(backing)
        return _win32shm.view_at(ctypes.addressof(backing), size, writable,
                                 lambda: self.open.remove(('view', writable)))

    def close_handle(self, handle):
        self.open.remove(handle)


class Attach(unittest.TestCase):

    def attach(self, fake, pid=42, length=SIZE):
        with mock.patch.object(_winshm, '_win32shm', fake):
            return _winshm.SectionPort(pid, None).attach_ring(0x44, length)

    def test_a_good_section_is_mapped_and_its_handles_closed(self):
        fake = FakeSections()
        control, data, capacity = self.attach(fake)
        self.assertEqual(fake.calls, ['OpenProcess', 'DuplicateHandle',
                                      'NtQuerySection', 'MapViewOfFileR',
                                      'MapViewOfFileW'])
        self.assertEqual((len(control.view), len(data.view), capacity),
                         (PAGE, CAPACITY, CAPACITY))
        self.assertTrue(fake.open <= {('view', True), ('view', False)})
        control.close()
        data.close()
        self.assertEqual(fake.open, set())

    def test_each_refusal_names_its_step_and_leaves_nothing_open(self):
        large = _win32shm.SEC_COMMIT | _win32shm.SEC_LARGE_PAGES
        cases = [
            (dict(), {'length': PAGE + 100}, 'multiple of', []),
            (dict(fail='OpenProcess'), {'pid': 666},
             'pid 666.*access denied.*allowed to open', ['OpenProcess']),
            (dict(fail='DuplicateHandle'), {}, 'duplicating.*error 6', None),
            (dict(fail='NtQuerySection'), {}, 'querying', None),
            (dict(attributes=_win32shm.SEC_RESERVE), {}, 'not committed',
             None),
            (dict(attributes=_win32shm.SEC_COMMIT | _win32shm.SEC_FILE), {},
             'not committed', None),
            (dict(attributes=large), {}, 'not committed', None),
            (dict(size=SIZE + PAGE), {}, 'holds .* announces', None),
            (dict(fail='MapViewOfFileR'), {}, 'mapping .* read-only', None),
            (dict(fail='MapViewOfFileW'), {}, 'control page', None),
        ]
        for fake_args, args, pattern, calls in cases:
            with self.subTest(pattern=pattern):
                fake = FakeSections(**fake_args)
                with self.assertRaisesRegex(SharedMemoryError, pattern):
                    self.attach(fake, **args)
                self.assertEqual(fake.open, set())
                if calls is not None:
                    self.assertEqual(fake.calls, calls)

    def test_an_unknown_peer_is_refused_before_any_call(self):
        fake = FakeSections()
        with self.assertRaisesRegex(SharedMemoryError, 'did not say'):
            self.attach(fake, pid=-1)
        self.assertEqual(fake.calls, [])


class SenderRing(unittest.TestCase):
    """The sender's section (SectionPort.create_ring) over stand-ins."""

    def test_the_section_handle_closes_with_the_ring_even_if_a_slot_is_held(
            self):
        fake = FakeSections()
        with mock.patch.object(_winshm, '_win32shm', fake):
            section, memory = _winshm.SectionPort(42, None).create_ring(
                CAPACITY)
            ring = RingWriter(None, memory, CAPACITY, None)
            slot = Slot(ring.region, ring.place(10) % CAPACITY, 10)
            held = slot.view()
            self.assertIn(section, fake.open)
            ring.close()
        # The handle goes at once (a mapped view keeps the section itself);
        # the view stays for the caller, who may still write, until the
        # caller lets go of it.
        self.assertEqual(fake.open, {('view', True)})
        held[0] = 1
        del held
        slot.drop()
        self.assertEqual(fake.open, set())


class NoFiles(unittest.TestCase):
    """A link over the Windows port: no file port, so what needs files is
    a typed error, and a descriptor that brings a file is refused."""

    def setUp(self):
        self.link = ShmLink(_winshm.SectionPort(42, None), SharedMemory(),
                            True, 'big')

    def test_what_needs_files_is_a_typed_error(self):
        self.assertIsNone(self.link.files)
        for call in (self.link.file_port, lambda: self.link.fill(b'x' * 8),
                     lambda: self.link.create(4096)):
            with self.assertRaisesRegex(SharedMemoryError, 'carries no files'):
                call()

    def test_a_file_of_its_own_is_refused(self):
        codec = DescriptorCodec('big')
        found = codec.parse(codec.frame(10, 0, True)[8:40])
        with self.assertRaisesRegex(SharedMemoryError, 'kind 1.*Windows'):
            self.link.received(found, None)
        self.assertIsNone(self.link.ring_in)


if __name__ == '__main__':
    unittest.main()
