"""npipes.aio's Windows path (named pipes on asyncio's proactor loop) against
Wine's pipes: the proactor's _overlapped is overlapped_proxy (bootstrap.py)."""

import asyncio
import unittest
import zlib

from tests import support
from winesupport import NO_PEER, T, DotnetPeer, peer_available, reached
from npipes import aio
from npipes._util import Deadline
from npipes._windows import Server
from npipes.errors import PipeTimeoutError


async def echo(conn):
    while True:
        await conn.send(await conn.recv())


class AioOnWine(unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        self.assertIsInstance(asyncio.get_running_loop(), asyncio.ProactorEventLoop)

    async def test_ipc_both_start_orders_formats_and_big_frames(self):
        loop = asyncio.get_running_loop()
        for endian, crc in [('big', True), ('little', False)]:
            for sender_first in (True, False):
                with self.subTest(endian=endian, crc=crc, sender_first=sender_first):
                    name, text = support.pipe_name(), 'q' * 150_000
                    send = aio.IPC(name, endian=endian, timeout=T).send_message(text, crc=crc)
                    recv = aio.IPC(name, endian=endian, timeout=T).receive_message(crc=crc)
                    first, second = (send, recv) if sender_first else (recv, send)
                    # a sender waits in ConnectNamedPipe; a receiver only connects (CreateFile, again and again)
                    with reached('ConnectNamedPipe' if sender_first else 'CreateFile') as waiting:
                        first_task = asyncio.ensure_future(first)
                        self.assertTrue(await loop.run_in_executor(None, waiting.wait, T))
                    second_result = await asyncio.wait_for(second, T)
                    first_result = await asyncio.wait_for(first_task, T)
                    got = ((first_result, second_result) if sender_first
                           else (second_result, first_result))
                    self.assertEqual(got, (True, text))

    async def test_server_with_many_clients(self):
        name = support.pipe_name()
        server = await aio.start_server(echo, name, crc=True)
        try:
            async def client(k):
                async with await aio.connect(name, timeout=T, crc=True) as conn:
                    out = [await conn.request(f'{k}:{i}', timeout=T) for i in range(10)]
                    big = bytes(range(256)) * 800                    # 200 KiB
                    out.append(await conn.request(big, timeout=T) == big)
                    return out
            results = await asyncio.wait_for(asyncio.gather(*(client(k) for k in range(8))), T)
            for k, out in enumerate(results):
                self.assertEqual(out, [f'{k}:{i}' for i in range(10)] + [True])
        finally:
            await server.aclose()

    async def test_recv_timeout_then_the_frame(self):
        name = support.pipe_name()
        server = await aio.start_server(echo, name)
        try:
            async with await aio.connect(name, timeout=T) as conn:
                with self.assertRaises(PipeTimeoutError):
                    await conn.recv(timeout=0.2)                   # nothing was sent
                self.assertEqual(await conn.request('after a timeout', timeout=T),
                                 'after a timeout')
        finally:
            await server.aclose()

    async def test_rpc(self):
        name = support.pipe_name()
        server = await aio.start_rpc_server(name, {'add': lambda a, b: a + b,
                                                   'crc': lambda s: zlib.crc32(s.encode())})
        try:
            async with await aio.RpcClient.connect(name, timeout=T) as client:
                self.assertEqual(await client.call('add', 2, 3, timeout=T), 5)
                self.assertEqual(await client.call('crc', 'y' * 100_000, timeout=T),
                                 zlib.crc32(b'y' * 100_000))
        finally:
            await server.aclose()

    async def test_each_frame_is_one_pipe_message(self):
        """Frames sent back to back (each queued while the one before is
        still being written) reach a reader of pipe messages one per
        message, as npipes 1.0.1 reads them: asyncio's proactor joins
        queued writes into one WriteFile, which the channel prevents."""
        loop = asyncio.get_running_loop()
        name, count, size = support.pipe_name(), 40, 3000
        frame = 4 + 4 + size + 4                  # the lengths, the payload, the CRC
        server = Server.create(name)
        try:
            accepting = loop.run_in_executor(None, server.accept, Deadline(T))
            async with await aio.connect(name, timeout=T, crc=True) as conn:
                stream = await asyncio.wait_for(accepting, T)
                try:
                    def messages():              # until every frame's bytes came
                        view, lengths = memoryview(bytearray(1 << 20)), []
                        while sum(lengths) < count * frame:
                            lengths.append(stream.recv_into(view, Deadline(T)))
                        return lengths
                    reading = loop.run_in_executor(None, messages)
                    await asyncio.wait_for(asyncio.gather(
                        *(conn.send(bytes([i]) * size) for i in range(count))), T)
                    lengths = await asyncio.wait_for(reading, T)
                finally:
                    stream.close()
        finally:
            server.close()
        self.assertEqual(lengths, [frame] * count)

    @unittest.skipUnless(peer_available(), NO_PEER)
    async def test_aio_client_to_dotnet_pipe_server(self):
        name = support.pipe_name()
        loop = asyncio.get_running_loop()
        peer = DotnetPeer('server', name, 'little', '1', '1')
        try:
            await loop.run_in_executor(None, peer.expect, 'listening')
            async with await aio.connect(name, timeout=T, crc=True, endian='little') as conn:
                for i in range(5):
                    self.assertEqual(await conn.request(f'aio {i}', timeout=T), f'aio {i}')
                big = 'b' * 150_000
                self.assertEqual(await conn.request(big, timeout=T), big)
            await loop.run_in_executor(None, peer.expect, 'served')
            self.assertEqual(await loop.run_in_executor(None, peer.finish), 0)
        finally:
            peer.kill()


if __name__ == '__main__':
    unittest.main()
