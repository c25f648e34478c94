"""npipes' one message per connection (npipes.IPC) as coroutines."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from . import transport
from ._aio_connection import (Connection, finish, open_connection,
                              send_frame)
from ._aio_platform import run_blocking
from ._session import ConnectionOptions
from ._util import Deadline, delays
from .errors import ConnectionClosedError
from .ipc import IpcOptions
from .message import encode_frame, to_payload, to_text

__all__ = ['IPC']


async def _backoff(deadline: Deadline, what: str) -> AsyncIterator[None]:
    """As _util.backoff (the same delays), without blocking the loop."""
    for delay in delays():
        yield
        left = deadline.remaining(what)
        await asyncio.sleep(delay if left is None else min(delay, left))


class IPC(IpcOptions):
    """npipes' one message per connection, as coroutines: the twin of
    :class:`npipes.IPC` (either side may start first; ``timeout`` bounds
    each whole call; the peer must be the current user unless
    ``allow_other_users`` or the access keywords of npipes.IPC;
    ``raise_errors=False`` returns False / '' and
    keeps the error in ``last_error``)."""

    async def _meet(self, deadline: Deadline, crc: bool,
                    receiver: bool = False) -> Connection:
        stream = await run_blocking(
            lambda d: transport.rendezvous(self.pipe, d, self.access,
                                           receiver),
            deadline.remaining(f'meeting the peer on pipe {self.pipe!r}'))
        return await open_connection(
            stream, transport.pipe_address(self.pipe),
            ConnectionOptions(crc=crc, endian=self.endian,
                              encoding=self.encoding,
                              max_payload=self.max_payload,
                              shared_memory=self.shared_memory))

    async def _send(self, data: str, crc: bool) -> bool:
        payload = to_payload(data, self.encoding)
        frame = encode_frame(payload, crc=crc, endian=self.endian,
                             max_payload=self.max_payload)
        deadline = Deadline(self.timeout)
        async for _ in _backoff(deadline, f'send on pipe {self.pipe!r}'):
            conn = await self._meet(deadline, crc)
            try:
                if self.shared_memory is None:
                    await send_frame(conn, frame, deadline.remaining('send'))
                else:
                    await conn.send(payload, deadline.remaining('send'))
                if await finish(conn, deadline) == 0:
                    return True
                # The peer wrote to us: not a receiver.  Meet again.
            except ConnectionClosedError:
                pass        # dropped unread (a closing server's backlog)
            finally:
                await conn.aclose()
        raise AssertionError('unreachable: _backoff() never ends')

    async def _receive(self, crc: bool) -> bytes:
        deadline = Deadline(self.timeout)
        async for _ in _backoff(deadline, f'receive on pipe {self.pipe!r}'):
            conn = await self._meet(deadline, crc, receiver=True)
            try:
                return await conn.recv(deadline.remaining('receive'))
            except ConnectionClosedError:
                continue    # the peer left before sending anything
            finally:
                await conn.aclose()
        raise AssertionError('unreachable: _backoff() never ends')

    async def send_message(self, data: str, crc: bool = False) -> bool:
        """Send *data* as one frame; True once the receiver has it."""
        try:
            return await self._send(data, crc)
        except Exception as exc:
            self._failed(exc)
            return False

    async def receive_message(self, crc: bool = False) -> str:
        """Receive one frame and return its text."""
        try:
            return to_text(await self._receive(crc), self.encoding)
        except Exception as exc:
            self._failed(exc)
            return ''

