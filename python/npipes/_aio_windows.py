"""The Windows endpoint under asyncio: a connected pipe's overlapped handle
on the proactor loop, and the Server's own accept in a thread."""

from __future__ import annotations

import asyncio
from asyncio import windows_utils
from typing import Callable, Optional

from ._aio_channel import Channel, StreamChannel
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
    protocol = asyncio.StreamReaderProtocol(reader)
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
    return StreamChannel(reader,
                         asyncio.StreamWriter(transport, protocol, reader, loop))


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
