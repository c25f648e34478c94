"""npipes' one message per connection (npipes.IPC) as coroutines."""

from __future__ import annotations

import asyncio
from typing import Optional

from . import _aio_platform as platform
from . import transport
from ._aio_connection import Connection
from ._util import Deadline
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     IPC_FIFO_NAME)
from .errors import ConnectionClosedError, PipeTimeoutError
from .message import encode_frame, struct_prefix, to_payload, to_text

__all__ = ['IPC']


async def _backoff(deadline, what):
    """As _util.backoff, without blocking the loop."""
    delay = 0.001
    while True:
        yield
        left = deadline.remaining(what)
        await asyncio.sleep(delay if left is None else min(delay, left))
        delay = min(delay * 2, 0.05)


class IPC:
    """npipes' one message per connection, as coroutines: the twin of
    :class:`npipes.IPC` (either side may start first; ``timeout`` bounds
    each whole call; the peer must be the current user unless
    ``allow_other_users``; ``raise_errors=False`` returns False / '' and
    keeps the error in ``last_error``)."""

    def __init__(self, pipe_name: str = IPC_FIFO_NAME,
                 encoding: str = DEFAULT_ENCODING,
                 endian: str = DEFAULT_ENDIAN,
                 timeout: Optional[float] = None, raise_errors: bool = True,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                 allow_other_users: bool = False):
        struct_prefix(endian)
        self.pipe = pipe_name
        self.encoding = encoding
        self.endian = endian
        self.timeout = timeout
        self.raise_errors = raise_errors
        self.max_payload = max_payload
        self.allow_other_users = allow_other_users
        self.last_error = None

    async def _meet(self, deadline, crc):
        stream = await platform.run_blocking(
            lambda d: transport.rendezvous(self.pipe, d,
                                           self.allow_other_users),
            deadline.remaining(f'meeting the peer on pipe {self.pipe!r}'))
        return await Connection._open(
            stream, transport.pipe_address(self.pipe),
            dict(crc=crc, endian=self.endian, encoding=self.encoding,
                 max_payload=self.max_payload))

    async def _send(self, data, crc):
        frame = encode_frame(to_payload(data, self.encoding), crc=crc,
                             endian=self.endian, max_payload=self.max_payload)
        deadline = Deadline(self.timeout)
        async for _ in _backoff(deadline, f'send on pipe {self.pipe!r}'):
            conn = await self._meet(deadline, crc)
            try:
                await conn._send_frame(frame, deadline.remaining('send'))
                if await _finish(conn, deadline) == 0:
                    return True
                # The peer wrote to us: not a receiver.  Meet again.
            except ConnectionClosedError:
                pass        # dropped unread (a closing server's backlog)
            finally:
                await conn.aclose()

    async def _receive(self, crc):
        deadline = Deadline(self.timeout)
        async for _ in _backoff(deadline, f'receive on pipe {self.pipe!r}'):
            conn = await self._meet(deadline, crc)
            try:
                return await conn.recv(deadline.remaining('receive'))
            except ConnectionClosedError:
                continue    # the peer left before sending anything
            finally:
                await conn.aclose()

    async def send_message(self, data: str, crc: bool = False) -> bool:
        """Send *data* as one frame; True once the receiver has it."""
        try:
            return await self._send(data, crc)
        except Exception as exc:
            if self.raise_errors:
                raise
            self.last_error = exc
            return False

    async def receive_message(self, crc: bool = False) -> str:
        """Receive one frame and return its text."""
        try:
            return to_text(await self._receive(crc), self.encoding)
        except Exception as exc:
            if self.raise_errors:
                raise
            self.last_error = exc
            return ''


async def _finish(conn, deadline):
    """Say we are done writing and wait for the peer to close; return how
    many bytes it sent meanwhile (a receiver sends none)."""
    writer, reader = conn._writer, conn._reader
    if writer.can_write_eof():             # Unix; a Windows pipe cannot
        writer.write_eof()
    total = 0
    while True:
        try:
            data = await asyncio.wait_for(reader.read(65536),
                                          deadline.remaining('send'))
        except asyncio.TimeoutError:
            raise PipeTimeoutError(f'send timed out after {deadline.timeout}'
                                   f' s (the receiver did not close)') \
                from None
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise ConnectionClosedError(f'peer reset the pipe ({exc})') \
                from exc
        if not data:
            return total
        total += len(data)
