"""The Windows endpoint under asyncio: a connected pipe's overlapped handle
on the proactor loop, one frame per pipe message, and the Server's own
accept in a thread."""

from __future__ import annotations

import asyncio
from asyncio import windows_utils
from collections import deque
from typing import Callable, Deque, Optional

from ._aio_channel import Channel
from ._aio_platform import READ_LIMIT, run_blocking
from ._windows import Server, Stream
from .errors import NPipesError

__all__ = ['open_stream', 'acceptor']


async def open_stream(stream: Stream, address: str) -> Channel:
    """The proactor's streams over *stream*'s pipe handle (it belongs to
    asyncio afterwards)."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, asyncio.ProactorEventLoop):
        stream.close()
        raise NPipesError('npipes.aio needs the proactor event loop on '
                          'Windows (asyncio\'s default since Python 3.8)')
    detach = stream.capabilities().detach
    assert detach is not None        # a Windows Stream always has its handle
    pipe = windows_utils.PipeHandle(detach())
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    protocol = _PipeProtocol(reader)
    waiter = loop.create_future()
    # What loop.create_pipe_connection does after its own connect (no
    # public API takes a pipe handle that is already connected; the
    # proactor's factory is not in typeshed).
    make_transport: Callable[..., asyncio.Transport] = getattr(
        loop, '_make_duplex_pipe_transport')
    try:
        transport = make_transport(pipe, protocol, waiter,
                                   extra={'addr': address})
        await waiter
    except BaseException:
        pipe.close()
        raise
    channel = PipeChannel(reader, asyncio.StreamWriter(transport, protocol, reader, loop))
    protocol.on_resume = channel.pump
    return channel


class _PipeProtocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol, telling its channel when the transport's
    write in flight has ended (resume_writing: see PipeChannel)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        super().__init__(reader)
        self.on_resume: Callable[[], None] = lambda: None

    def resume_writing(self) -> None:
        super().resume_writing()
        self.on_resume()


class PipeChannel:
    """A connected pipe on the proactor loop, one frame per pipe message.

    A Windows pipe is in message mode: each WriteFile is one message, and
    npipes 1.0.1 (and any reader of messages) takes one frame per message
    (docs/wire-format.md).  The proactor's transport joins the writes
    queued behind the one in flight into a single WriteFile, so frames are
    kept here and handed to it one at a time: its write buffer limits are
    0, so it pauses the protocol while a write is in flight and resumes it
    when that write has ended, and the resume hands over the next frame.
    """

    def __init__(self, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._frames: Deque[bytes] = deque()
        writer.transport.set_write_buffer_limits(high=0)

    async def read_into(self, view: memoryview) -> int:
        data = await self._reader.read(len(view))
        view[:len(data)] = data
        return len(data)

    def write(self, data: bytes) -> bool:
        self._frames.append(data)
        self.pump()
        return False                     # drain() reports how it went

    def pump(self) -> None:
        """Hand the next frame to the transport when no write is in flight
        (a frame is sent whole, whoever drains: a timed-out send's frame
        still goes)."""
        transport = self._writer.transport
        while self._frames and not transport.is_closing() and \
                transport.get_write_buffer_size() == 0:
            transport.write(self._frames.popleft())

    async def drain(self) -> None:
        while True:
            await self._writer.drain()   # raises once the pipe is lost
            if not self._frames:
                return
            if self._writer.transport.is_closing():
                raise ConnectionResetError('the pipe closed with frames unsent')
            self.pump()

    def write_eof(self) -> bool:
        if not self._writer.can_write_eof():   # a Windows pipe cannot
            return False
        self._writer.write_eof()
        return True

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def close(self) -> None:
        self._frames.clear()
        self._writer.close()

    async def wait_closed(self) -> None:
        await self._writer.wait_closed()


def acceptor(server: Server) -> 'ThreadAcceptor':
    """The accept side of *server* for the running loop."""
    return ThreadAcceptor(server)


class ThreadAcceptor:
    """The Server's own accept in a thread, one at a time."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._lock = asyncio.Lock()

    async def accept(self, timeout: Optional[float]) -> Stream:
        async with self._lock:
            return await run_blocking(self._server.accept, timeout)

    def close(self) -> None:
        self._server.close()
