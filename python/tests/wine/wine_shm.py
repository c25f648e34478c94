"""Shared memory on Windows (docs/shared-memory.md §9) over Wine's real pipes
and sections: the ring in an unnamed section that the receiver duplicates
out of the peer's process (win32shm_proxy: the calls run in the helper, the
views are the section's own pages mapped here too).

Python to Python, blocking and asyncio, then a raw peer driven frame by frame
(the red team); the helper's handle count must not grow."""

import asyncio
import os
import unittest
import zlib

import win32shm_proxy
import winapi_proxy
from tests import support
from winesupport import NO_PEER, T, DotnetPeer, peer_available

import npipes
from npipes import SharedMemory, aio
from npipes._shmframe import DescriptorCodec, FLAG
from npipes._shmring import PAGE
from npipes._util import Deadline
from npipes._windows import connect as raw_connect
from npipes.errors import ConnectionClosedError, SharedMemoryError

MIN = 4096
CAPACITY = 4 * PAGE
OPTION = SharedMemory(min_payload=MIN, max_in_flight=CAPACITY)


def frame(kind, length, position=0, flags=0, crc=0, with_crc=False):
    """A descriptor frame of any fields (big-endian, the default)."""
    codec = DescriptorCodec('big')
    data = codec._data.pack(1, kind, length, crc, position, flags)
    return codec._header.pack(40 ^ FLAG, 32) + data + codec._field.pack(
        zlib.crc32(data) if with_crc else 0)


class Pair:
    """A Listener's accepted connection and its client, shared memory on."""

    def __init__(self, test, **options):
        options.setdefault('shared_memory', OPTION)
        self.listener = npipes.Listener(support.pipe_name(), **options)
        test.addCleanup(self.listener.close)
        self.client = npipes.connect(self.listener.name, T, **options)
        test.addCleanup(self.client.close)
        self.server = self.listener.accept(T)
        test.addCleanup(self.server.close)


class Blocking(unittest.TestCase):

    def setUp(self):
        self.handles = win32shm_proxy.handle_count()

    def tearDown(self):
        self.doCleanups()
        self.assertEqual(win32shm_proxy.handle_count(), self.handles)

    def test_round_trips_cycle_the_ring_crc_on_and_off(self):
        for crc in (True, False):
            with self.subTest(crc=crc):
                pair = Pair(self, crc=crc)
                for i in range(12):               # 3 slots per ring: cycles
                    data = os.urandom(MIN + 1000 * i)
                    pair.client.send(data, T)
                    got = pair.server.recv_buffer(T)
                    self.assertTrue(got.shared)
                    self.assertEqual(got.view, data)
                    got.release()
                    pair.server.send(data[::-1], T)    # the other ring
                    self.assertEqual(pair.client.recv(T), data[::-1])
                    if i == 0:                # the senders hold their sections
                        sections = win32shm_proxy.handle_count()[0]
                        self.assertGreaterEqual(sections, self.handles[0] + 2)
                self.assertGreater(pair.client._shm.ring_out.end, 3 * CAPACITY)
                big = os.urandom(CAPACITY + 1)             # larger: inline
                pair.client.send(big, T)
                got = pair.server.recv_buffer(T)
                self.assertFalse(got.shared)
                self.assertEqual(got.view, big)

    def test_create_message_in_the_ring_and_inline_while_it_is_held(self):
        pair = Pair(self, crc=True)
        with pair.client.create_message(2 * MIN, T) as message:
            message.buffer[:] = b'r' * (2 * MIN)
            with pair.client.create_message(MIN, T) as other:   # ring held
                other.buffer[:] = b'o' * MIN
                other.send(T)
            message.send(T)
        first, second = pair.server.recv_buffer(T), pair.server.recv_buffer(T)
        self.assertEqual((first.shared, bytes(first.view)), (False, b'o' * MIN))
        self.assertEqual((second.shared, bytes(second.view)), (True, b'r' * (2 * MIN)))

    def test_a_buffer_held_past_the_close_keeps_the_view_not_the_section(self):
        pair = Pair(self, crc=True)
        with pair.client.create_message(2 * MIN, T) as message:
            held = message.buffer[:16]       # the caller's, past the close
        pair.client.close()
        # The section's handle went with the connection (it used to stay
        # while a view was held, to the process's end); the view stays for
        # its holder, and goes with it (tests.test_shared_memory_windows).
        self.assertEqual(win32shm_proxy.handle_count(), self.handles)
        held[:4] = b'mine'
        self.assertEqual(bytes(held[:4]), b'mine')
        del held

    def test_request_reply_with_a_listener(self):
        from winesupport import echo_listener
        name = support.pipe_name()
        with echo_listener(name, shared_memory=OPTION, crc=True):
            with npipes.connect(name, T, shared_memory=OPTION, crc=True) as conn:
                for size in (10, MIN, 3 * MIN, CAPACITY + 5):
                    data = os.urandom(size)
                    self.assertEqual(conn.request(data, T), data)


def echo_round_trips(test, name):
    """Requests to the echo server of pipe *name* in another process
    (shared memory and CRC on, the defaults: 64 KiB and more through the
    ring): each answered through the server's own ring, whose section this
    process duplicates out of the server's; a message written in place."""
    with npipes.connect(name, T, shared_memory=True, crc=True) as conn:
        test.assertNotEqual(conn.peer.pid, winapi_proxy.helper_pid())
        for i in range(3):
            data = os.urandom(100_000 + i)
            test.assertEqual(conn.request(data, T), data)
        with conn.create_message(70_000, T) as message:
            message.buffer[:] = b'w' * 70_000
            message.send(T)
        got = conn.recv_buffer(T)
        test.assertTrue(got.shared)
        test.assertEqual(got.view, b'w' * 70_000)
        got.release()


class OtherProcess(unittest.TestCase):
    """The peer in another process (its own helper: another Wine process
    whose sections this one duplicates, and the other way round), as a
    .NET peer under Wine would be."""

    def test_echo_cli_in_a_child(self):
        from tests import cli_support
        name = support.pipe_name()
        child = cli_support.spawn(cli_support.PY_CLI, 'echo', name, '--shared-memory', '--crc')
        try:
            self.assertEqual(cli_support.read_line(child), cli_support.serving_line(name))
            echo_round_trips(self, name)
        finally:
            code, _, err = cli_support.stop(child)
        self.assertEqual(err, '')


@unittest.skipUnless(peer_available(), NO_PEER)
class WithDotnet(unittest.TestCase):
    """Python here and .NET under Wine, shared memory on both sides
    (docs/shared-memory.md §9): each pulls the other's ring section out of
    the other's process, both ways (the conformance of the two
    implementations over Wine's real sections)."""

    def test_python_client_to_dotnet_echo(self):
        name = support.pipe_name()
        peer = DotnetPeer('cli', 'echo', name, '--shared-memory', '--crc')
        try:
            peer.expect('npipes echo: serving')
            echo_round_trips(self, name)
        finally:
            peer.kill()

    def test_dotnet_client_to_python_listener(self):
        """The .NET client's first request (200,000 bytes) reaches Python
        through its ring and comes back through Python's; the smaller ones
        travel inline."""
        name = support.pipe_name()
        with npipes.Listener(name, shared_memory=True, crc=True, endian='little') as listener:
            peer = DotnetPeer('client', name, 'little', '1', '3', '--shared-memory')
            try:
                peer.expect('pid ')
                with listener.accept(T) as conn:
                    shared = []
                    for _ in range(3):
                        with conn.recv_buffer(T) as got:
                            shared.append(got.shared)
                            data = got.tobytes()
                        conn.send(data, T)
                    peer.expect('ok')
                    self.assertEqual(peer.finish(), 0)
            finally:
                peer.kill()
        self.assertEqual(shared, [True, False, False])


@unittest.skipUnless(peer_available(), NO_PEER)
class AsyncWithDotnet(unittest.IsolatedAsyncioTestCase):

    async def test_asyncio_client_to_dotnet_echo(self):
        """The asyncio driver's frames (whose writes the proactor may join
        into one pipe message) are read by .NET, and its ring's answers
        come back through .NET's."""
        name = support.pipe_name()
        peer = DotnetPeer('cli', 'echo', name, '--shared-memory', '--crc')
        try:
            peer.expect('npipes echo: serving')
            async with await aio.connect(name, T, crc=True, shared_memory=True) as conn:
                for i in range(3):
                    data = os.urandom(100_000 + i)
                    self.assertEqual(await conn.request(data, timeout=T), data)
                await conn.send(b'x' * 70_000)
                got = await conn.recv_buffer()
                with got:
                    self.assertTrue(got.shared)
                    self.assertEqual(got.view, b'x' * 70_000)
        finally:
            peer.kill()


class Async(unittest.IsolatedAsyncioTestCase):

    async def test_round_trips_and_create_message(self):
        handles = win32shm_proxy.handle_count()
        for crc in (True, False):
            name = support.pipe_name()

            async def echo(conn):
                while True:
                    got = await conn.recv_buffer()
                    with got:
                        await conn.send(bytes(got.view) + (b'S' if got.shared else b'I'))
            server = await aio.start_server(echo, name, crc=crc, shared_memory=OPTION)
            try:
                async with await aio.connect(name, T, crc=crc, shared_memory=OPTION) as conn:
                    for i in range(10):
                        data = os.urandom(MIN + 999 * i)
                        self.assertEqual(await conn.request(data, timeout=T), data + b'S')
                    big = os.urandom(CAPACITY + 1)
                    self.assertEqual(await conn.request(big, timeout=T), big + b'I')
                    message = conn.create_message(MIN)
                    message.buffer[:] = b'm' * MIN
                    await message.send(T)
                    self.assertEqual(await conn.recv(T), b'm' * MIN + b'S')
                    self.assertGreater(conn._shm.ring_out.end, 2 * CAPACITY)
            finally:
                await server.aclose()
        self.assertEqual(win32shm_proxy.handle_count(), handles)


class RedTeam(unittest.TestCase):
    """A raw peer (this process's helper: the pid the pipe reports) writes
    frames of its making to a receiver with shared memory on."""

    def setUp(self):
        self.handles = win32shm_proxy.handle_count()
        self.made = []
        self.fresh()

    def fresh(self):
        """A new connection: the raw peer and the receiver it attacks."""
        self.listener = npipes.Listener(support.pipe_name(), shared_memory=OPTION, crc=True)
        self.addCleanup(self.listener.close)
        self.raw = raw_connect(self.listener.name, Deadline(T))
        self.addCleanup(self.raw.close)
        self.server = self.listener.accept(T)
        self.addCleanup(self.server.close)

    def tearDown(self):
        self.doCleanups()
        for handle in self.made:
            win32shm_proxy.close_handle(handle)
        self.assertEqual(win32shm_proxy.handle_count(), self.handles)

    def section(self, size=PAGE + CAPACITY, **kw):
        handle = win32shm_proxy.create_section(size, **kw)
        self.made.append(handle)
        return handle

    def send(self, *frames):
        for data in frames:
            self.raw.send(data, Deadline(T))

    def refused(self, *frames, words):
        self.send(*frames)
        with self.assertRaises(SharedMemoryError) as caught:
            self.server.recv(T)
        for word in words:
            self.assertIn(word, str(caught.exception))
        with self.assertRaises((ConnectionClosedError, npipes.NPipesError)):
            self.server.recv(T)                       # closed
        return caught.exception

    def attach(self, handle=None, length=PAGE + CAPACITY):
        if handle is None:
            handle = self.section()
        return frame(3, length, position=handle, with_crc=True)

    def slot(self, data, position=0, flags=0):
        return frame(2, len(data), position, flags, zlib.crc32(data), with_crc=True)

    def ring(self, handle):
        """The sender's writable view of section *handle* (mapped here)."""
        view = win32shm_proxy.map_view(handle, True, PAGE + CAPACITY)
        self.addCleanup(view.close)
        return view.view

    def test_a_well_made_ring_is_read_then_scribbles_and_bad_consumed(self):
        handle = self.section()
        ring = self.ring(handle)
        ring[PAGE:PAGE + 5] = b'hello'
        self.send(self.attach(handle), self.slot(b'hello'))
        self.assertEqual(self.server.recv(T), b'hello')
        self.assertEqual(int.from_bytes(ring[:8], 'little'), 5)     # consumed
        ring[PAGE + 5:PAGE + 10] = b'world'
        self.refused(frame(2, 5, 5, 0, zlib.crc32(b'WORLD'), True), words=['CRC-32'])

    def test_kind_2_before_kind_3(self):
        self.refused(self.slot(b'x' * 10), words=['before any ring'])

    def test_second_kind_3(self):
        self.send(self.attach())
        self.refused(self.attach(), words=['second ring'])

    def test_kind_1(self):
        self.refused(frame(1, 10, with_crc=True), words=['kind 1', 'Windows'])

    def test_flag_bit_0(self):
        self.send(self.attach())
        self.refused(self.slot(b'x' * 10, flags=1), words=['flags bit 0'])

    def test_a_bogus_handle_value(self):
        self.refused(self.attach(0x7FF0), words=['duplicating', 'Windows error 6'])

    def test_a_handle_naming_an_event(self):
        import winapi_proxy
        event = int(winapi_proxy.call('CreateEvent')[0])
        self.made.append(event)
        self.refused(self.attach(event), words=['querying the ring section'])

    def test_reserved_file_backed_and_large_page_sections(self):
        large = win32shm_proxy.SEC_COMMIT | win32shm_proxy.SEC_LARGE_PAGES
        for kw in ({'flags': win32shm_proxy.SEC_RESERVE}, {'flags': large},
                   {'flags': 0, 'path': f'C:\\npipes-shm-{os.urandom(8).hex()}.bin'}):
            with self.subTest(kw=kw):
                self.refused(self.attach(self.section(**kw)), words=['not committed'])
                self.fresh()

    def test_a_receiver_that_reports_too_much_consumed(self):
        self.server.send(b'a' * MIN, T)                   # to the raw peer
        attach, slot = bytearray(44), bytearray(44)      # each a pipe message
        for buf in (attach, slot):
            self.assertEqual(self.raw.recv_into(memoryview(buf), Deadline(T)), 44)
        codec = DescriptorCodec('big')
        found = codec.parse(bytes(attach[8:40]))
        self.assertEqual((found.kind, found.length), (3, PAGE + CAPACITY))
        self.assertEqual(codec.parse(bytes(slot[8:40])).kind, 2)
        # (the raw peer is this process's helper: the handle is valid here)
        control = win32shm_proxy.map_view(found.position, True, PAGE)
        control.view[:8] = (10 * CAPACITY).to_bytes(8, 'little')
        control.close()
        with self.assertRaises(SharedMemoryError) as caught:
            self.server.send(b'b' * MIN, T)
        self.assertIn('consumed', str(caught.exception))

    def test_wrong_size(self):
        handle = self.section(PAGE + 2 * CAPACITY)
        self.refused(self.attach(handle), words=['holds', 'announces'])

    def test_bad_capacities(self):
        for length in (PAGE, PAGE + 100, PAGE + (1 << 30) + PAGE):
            with self.subTest(length=length):
                self.refused(self.attach(length=length), words=['multiple of'])
                self.fresh()


if __name__ == '__main__':
    unittest.main()
