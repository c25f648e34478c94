"""Shared memory under asyncio (docs/shared-memory.md): npipes.aio's
Connection, server and IPC, the same rules as the blocking API."""

import asyncio
import os
import sys
import unittest
from unittest import mock

if not sys.platform.startswith('linux'):
    raise unittest.SkipTest('shared memory is Linux only')

from tests.shm_support import (crc, descriptor_frame, memfd, open_fds,
                               pipe_name, raw_client, send_with)

from npipes import PipeTimeoutError, SharedMemory, SharedMemoryError, aio

T = 10
MIN = SharedMemory().min_payload


class AioSharedMemory(unittest.IsolatedAsyncioTestCase):

    async def serve(self, handler, **options):
        name = pipe_name()
        server = await aio.start_server(handler, name, **options)
        self.addAsyncCleanup(server.aclose)
        return name, server

    async def test_round_trips_in_place(self):
        async def echo(conn):
            while True:
                with await conn.recv_buffer() as got:
                    await conn.send(got.view.tobytes())
        name, _ = await self.serve(echo, shared_memory=True, crc=True)
        async with await aio.connect(name, T, shared_memory=True,
                                     crc=True, endian='big') as client:
            for size in (0, 1, MIN - 1, MIN, 1 << 20):
                data = os.urandom(size)
                await client.send(data, T)
                with await client.recv_buffer(T) as reply:
                    self.assertEqual(reply.view, data, size)
                    self.assertEqual(reply.shared, size >= MIN, size)
            with client.create_message(2 * MIN) as message:
                message.buffer[:] = b'm' * (2 * MIN)
                await message.send(T)
            self.assertEqual(await client.recv(T), b'm' * (2 * MIN))
            self.assertEqual(await client.request('text', T), 'text')

    async def test_a_peer_that_never_reads_makes_the_sender_wait(self):
        stop = asyncio.Event()
        held = []

        async def idle(conn):
            held.append(conn)
            await stop.wait()
            for _ in range(5):
                await conn.recv()
        name, _ = await self.serve(idle, shared_memory=True)
        client = await aio.connect(name, T, shared_memory=SharedMemory(
            max_in_flight=4 * MIN))
        created = []
        real = os.memfd_create
        try:
            with mock.patch('os.memfd_create',
                            lambda *a: created.append(1) or real(*a)):
                for _ in range(4):
                    await client.send(bytes(MIN), T)
                with self.assertRaises(PipeTimeoutError):
                    await client.send(bytes(MIN), 0.3)
                self.assertEqual(len(created), 1)   # the ring, full
                client.create_message(MIN).abandon()  # no room: never
                self.assertEqual(len(created), 2)     # waits, a file
                stop.set()                       # the peer reads at last
                await client.send(bytes(MIN), T)
                self.assertEqual(len(created), 2)     # (the ring again)
        finally:
            await client.aclose()

    async def test_the_ring_cycles_and_create_message_never_waits(self):
        option = SharedMemory(max_in_flight=4 * MIN)
        received = asyncio.Queue()

        async def keep(conn):
            while True:
                with await conn.recv_buffer() as got:
                    await received.put((got.shared, got.view.tobytes()))
        name, _ = await self.serve(keep, shared_memory=option, crc=True)
        async with await aio.connect(name, T, shared_memory=option,
                                     crc=True) as client:
            for i in range(40):                  # wrapping, moving up
                data = os.urandom(MIN + 4096 * (i % 5) + i)
                await client.send(data, T)
                self.assertEqual(await received.get(), (True, data))
            self.assertGreater(client._shm.ring_out.end, 8 * 4 * MIN)
            with client.create_message(2 * MIN) as message:   # in the ring
                self.assertIsNotNone(client._shm.ring_out)
                message.buffer[:] = b'r' * (2 * MIN)
                with client.create_message(MIN) as other:     # ring held:
                    other.buffer[:] = b'f' * MIN              # a file
                    await other.send(T)
                await message.send(T)
            self.assertEqual(await received.get(), (True, b'f' * MIN))
            self.assertEqual(await received.get(), (True, b'r' * (2 * MIN)))

    async def test_descriptor_without_file_is_refused_and_closes(self):
        got = asyncio.get_running_loop().create_future()

        async def receive(conn):
            try:
                await conn.recv(T)
            except SharedMemoryError as exc:
                got.set_result((str(exc), conn.closed))
        name, server = await self.serve(receive, shared_memory=True)
        attacker = raw_client(server.address)
        try:
            send_with(attacker, descriptor_frame(MIN))
            message, closed = await asyncio.wait_for(got, T)
        finally:
            attacker.close()
        self.assertIn('without its file', message)
        self.assertTrue(closed)

    async def test_refusals_leak_nothing(self):
        async def receive(conn):
            try:
                while True:
                    await conn.send(await conn.recv())
            except SharedMemoryError:
                pass
        name, server = await self.serve(receive, shared_memory=True)
        for i in range(11):
            if i == 1:       # after a first round: the server's own fds
                fds = open_fds()
            attacker = raw_client(server.address)
            fd = memfd(bytes(MIN), seals=0)
            try:
                send_with(attacker, descriptor_frame(MIN, crc(bytes(MIN))),
                          fd)
            finally:
                os.close(fd)
            attacker.setblocking(False)
            self.assertEqual(await asyncio.get_running_loop().sock_recv(
                attacker, 1), b'')                   # refused: closed
            attacker.close()
        self.assertEqual(open_fds(), fds)

    async def test_ipc(self):
        name = pipe_name()
        text = 'y' * (3 * MIN)
        receiving = asyncio.ensure_future(
            aio.IPC(name, timeout=T, shared_memory=True).receive_message())
        self.assertTrue(await aio.IPC(name, timeout=T, shared_memory=True)
                        .send_message(text))
        self.assertEqual(await receiving, text)


if __name__ == '__main__':
    unittest.main()
