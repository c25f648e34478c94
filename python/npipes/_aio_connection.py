"""asyncio connections: npipes.Connection's frames over a byte channel
(the raw socket on Unix, the proactor's streams on Windows: _aio_channel).

The other aio modules reach a Connection's state only through the functions
at the end of this module (open_connection, send_frame, finish)."""

from __future__ import annotations

import asyncio
import logging
from typing import (Any, Awaitable, Callable, Optional, cast,
                    TypeVar, Union, overload)

from . import _aio_shm, sharedmemory, transport
from ._aio_channel import Channel, SocketChannel
from ._aio_platform import run_blocking
from ._session import (ConnectionOptions, FrameSession, closed_here,
                       no_reply, peer_gone, send_cut)
from ._shmconn import copy_out
from ._shmlink import ShmLink, open_link
from ._util import Capabilities, Deadline
from .access import UNKNOWN, Entries, PeerIdentity, client_policy
from .consts import DEFAULT_ENDIAN, DEFAULT_PIPE_NAME
from .errors import ConnectionClosedError, NPipesError, PipeTimeoutError
from .message import to_payload, to_text

__all__ = ['Connection', 'connect', 'ConnectionOptions', 'open_connection',
           'send_frame', 'finish']

log = logging.getLogger('npipes')
_CLOSED = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_T = TypeVar('_T')


async def _bounded(awaitable: Awaitable[_T], seconds: Optional[float]) -> _T:
    if seconds is None:
        return await awaitable
    return await asyncio.wait_for(awaitable, seconds)


class Connection(_aio_shm.AioInPlace, FrameSession):
    """Frames over one connected pipe (either end), as
    :class:`npipes.Connection`: ``send`` writes one frame, ``recv`` returns
    one payload; ``max_payload`` is checked from the header before any
    allocation and memory follows the bytes that arrive; ``crc`` checks a
    CRC-32 (CrcMismatchError, the connection stays usable);
    ``idle_timeout`` / ``frame_timeout`` close it (ConnectionClosedError
    with that ``reason``); ``on_close`` is called once when it closes;
    ``shared_memory`` sends large payloads through shared memory
    (docs/shared-memory.md; :meth:`create_message`, :meth:`recv_buffer`).  One
    task may receive at a time; any number may send (each frame is written
    whole).
    """

    _repr_prefix = 'aio.'

    def __init__(self, channel: Channel, *,
                 peer: PeerIdentity = UNKNOWN, link: Optional[ShmLink] = None,
                 **options: Any) -> None:
        """Options: those of :class:`npipes.Connection` (``crc``,
        ``endian``, ``encoding``, ``max_payload``, ``idle_timeout``,
        ``frame_timeout``, ``on_close``, ``shared_memory``); *peer*: who is
        at the other end, as the transport read it; *link*: the stream's
        shared memory (open_connection makes it; without it
        ``shared_memory`` is refused)."""
        self._peer = peer
        self._channel = channel
        self._start_session(True, cast(ConnectionOptions, options))
        self._closed = False
        self._shm = link
        if link is None:           # SharedMemoryError if it was asked for
            open_link(Capabilities(), self.shared_memory, self.crc,
                      self.endian)
        elif link.files is not None:       # every read collects files
            socket_channel = self._live()
            assert isinstance(socket_channel, SocketChannel)
            socket_channel.use_reader(link.files.recv_into)

    def _encode(self, data: Union[bytes, str]) -> bytes:
        return data if isinstance(data, bytes) \
            else to_payload(data, self.encoding)

    @classmethod
    async def connect(cls, name: str = DEFAULT_PIPE_NAME,
                      timeout: Optional[float] = None, *,
                      allow_other_users: bool = False,
                      server_users: Optional[Entries] = None,
                      server_groups: Optional[Entries] = None,
                      **options: Any) -> Connection:
        """Connect to the server of pipe *name*, waiting up to *timeout*
        seconds for it; the server must be the current user or one of
        *server_users*, or hold one of *server_groups* (else
        PipeAccessError, before a byte moves; see
        :meth:`npipes.Connection.connect`).  The other options are the
        Connection's."""
        trust = client_policy(allow_other_users, server_users, server_groups)
        stream = await run_blocking(
            lambda d: transport.connect(name, d, trust), timeout)
        return await open_connection(stream, transport.pipe_address(name),
                                     cast(ConnectionOptions, options))

    # -- sending ---------------------------------------------------------
    async def send(self, data: Union[bytes, str],
                   timeout: Optional[float] = None) -> None:
        """Send one frame (str is encoded strictly).  The frame is queued
        whole at once, so a PipeTimeoutError (the peer not reading for
        *timeout* seconds) leaves the stream in step: it is still sent."""
        if self._shm is not None:
            data = self._encode(data)      # (once, whichever way it goes)
            if await self._send_shared(data, timeout):
                return
        await self._send_frame(self._frame(data), timeout)

    async def _send_frame(self, frame: bytes,
                          timeout: Optional[float] = None) -> None:
        channel = self._live()
        if channel.is_closing():
            raise ConnectionClosedError('peer closed the pipe')
        if not channel.write(frame):         # else handed to the OS whole
            await self._drain(channel, timeout)

    async def _drain(self, channel: Channel,
                     timeout: Optional[float]) -> None:
        try:
            if timeout is None:
                await channel.drain()
            else:
                await asyncio.wait_for(channel.drain(), timeout)
        except asyncio.TimeoutError:
            raise PipeTimeoutError(f'send timed out after {timeout} s') \
                from None
        except _CLOSED as exc:
            raise ConnectionClosedError(f'peer closed the pipe ({exc})') \
                from exc

    # -- receiving -------------------------------------------------------
    async def recv(self, timeout: Optional[float] = None) -> bytes:
        """One frame's payload.  ConnectionClosedError at a clean end,
        IncompleteFrameError if the peer left mid-frame, PipeTimeoutError
        after *timeout* seconds (a partial frame is kept for the next
        call)."""
        return await self.receive(timeout)

    async def receive(self, timeout: Optional[float] = None, *,
                      idle: bool = True) -> bytes:
        """:meth:`recv`; with ``idle=False`` without the idle timeout, for
        an engine that decides itself when the connection is idle
        (npipes.aio's RPC: a connection waiting for a long call is not)."""
        if self._shm is None:
            return await self._receive_frame(timeout, idle)
        return copy_out(await self._received(timeout, idle))

    async def _receive_frame(self, timeout: Optional[float],
                             idle: bool) -> bytes:
        channel = self._live()
        if timeout is None and self._timeouts.off and \
                isinstance(channel, SocketChannel):
            return await self._receive_now(channel)
        deadline, decoder, timeouts = Deadline(timeout), self._decoder, \
            self._timeouts
        try:
            payload = decoder.take()           # read ahead by an earlier read
        except BaseException:
            timeouts.frame_done(False)
            raise
        while payload is None:
            seconds, reason = timeouts.limit(deadline.remaining('receive'),
                                             idle=idle)
            if seconds is not None and reason is not None and seconds <= 0:
                self.close()
                raise timeouts.expired(reason)
            reading = channel.read_into(decoder.want())
            try:
                n = await (reading if seconds is None
                           else asyncio.wait_for(reading, seconds))
            except asyncio.TimeoutError:
                if reason is None:
                    raise PipeTimeoutError(f'receive timed out after '
                                           f'{timeout} s') from None
                self.close()
                raise timeouts.expired(reason) from None
            except _CLOSED:
                n = 0
            if self._closed:
                raise closed_here()
            if not n:
                raise peer_gone(decoder.in_frame)
            try:
                payload = decoder.advance(n)
            except BaseException:
                timeouts.frame_done(False)
                raise
            if payload is None:
                timeouts.bytes_arrived()
        timeouts.frame_done(decoder.in_frame)
        return payload

    async def _receive_now(self, channel: SocketChannel) -> bytes:
        """receive() with nothing to time: the channel reads whole frames
        on the spot."""
        decoder = self._decoder
        try:
            payload = await channel.receive(decoder)
        except _CLOSED:
            payload = None
        if self._closed:
            raise closed_here()
        if payload is None:
            raise peer_gone(decoder.in_frame)
        return payload

    async def recv_text(self, timeout: Optional[float] = None) -> str:
        return to_text(await self.recv(timeout), self.encoding)

    @overload
    async def request(self, data: str,
                      timeout: Optional[float] = None) -> str: ...

    @overload
    async def request(self, data: bytes,
                      timeout: Optional[float] = None) -> bytes: ...

    async def request(self, data: Union[bytes, str],
                      timeout: Optional[float] = None) -> Union[bytes, str]:
        """Send *data* and return the reply (str in, str out); *timeout*
        covers both.  A peer that closes the connection instead of taking
        the request or replying raises ConnectionClosedError naming what
        usually causes that (_hints.py)."""
        sent = False
        try:
            channel = self._live()
            if timeout is None and self._shm is None and \
                    type(channel) is SocketChannel and self._timeouts.off:
                # A sequential request's usual case, with no coroutine
                # between this one and the socket but the reply's wait.
                if channel.is_closing():
                    raise ConnectionClosedError('peer closed the pipe')
                if not channel.write(self._frame(data)):
                    await self._drain(channel, None)
                sent = True
                reply = await self._receive_now(channel)
            elif timeout is None:
                await self.send(data)
                sent = True
                reply = await self.receive()
            else:
                loop = asyncio.get_running_loop()
                end = loop.time() + timeout
                await self.send(data, timeout)
                sent = True
                reply = await self.receive(max(0.0, end - loop.time()))
        except ConnectionClosedError as exc:
            error = no_reply(exc) if sent else send_cut(exc)
            if error is exc:
                raise
            raise error from exc
        return to_text(reply, self.encoding) if isinstance(data, str) \
            else reply

    # -- lifetime --------------------------------------------------------
    def _live(self) -> Channel:
        if self._closed:
            raise NPipesError('connection is closed')
        return self._channel

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._shm is not None:
            self._shm.close()
        try:
            self._channel.close()
        finally:
            self._closing()

    async def aclose(self) -> None:
        """Close and wait until the transport has let go of the pipe."""
        self.close()
        try:
            await self._channel.wait_closed()
        except (OSError, NPipesError):
            pass

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def connect(name: str = DEFAULT_PIPE_NAME,
                  timeout: Optional[float] = None,
                  **options: Any) -> Connection:
    """Shorthand for :meth:`Connection.connect` (the same options)."""
    return await Connection.connect(name, timeout, **options)

# -- for the other aio modules (server, IPC): a Connection's internals are
# used only here -------------------------------------------------------------
async def open_connection(stream: transport.Stream, address: str,
                          options: ConnectionOptions,
                          on_close: Optional[Callable[[], None]] = None
                          ) -> Connection:
    """A Connection over a connected transport *stream* (it belongs to the
    Connection afterwards; closed if this fails).  *on_close* is called
    once when the Connection closes (a Listener's count)."""
    peer = stream.peer
    try:
        link = open_link(stream.capabilities(), sharedmemory.shared_memory(
            options.get('shared_memory')), options.get('crc', False),
            options.get('endian', DEFAULT_ENDIAN))
    except BaseException:
        stream.close()
        raise
    channel = await transport.aio_endpoint().open_stream(stream, address)
    try:
        return Connection(channel, on_close=on_close, peer=peer, link=link,
                          **options)
    except BaseException:
        channel.close()
        raise


async def send_frame(conn: Connection, frame: bytes,
                     timeout: Optional[float]) -> None:
    """Write an encoded *frame* as it is (npipes' IPC builds its own)."""
    await conn._send_frame(frame, timeout)


async def finish(conn: Connection, deadline: Deadline) -> int:
    """Say we are done writing and wait for the peer to close; return how
    many bytes it sent meanwhile (a receiver sends none)."""
    channel = conn._channel
    channel.write_eof()                    # Unix; a Windows pipe cannot
    scratch = memoryview(bytearray(65536))
    total = 0
    while True:
        try:
            n = await _bounded(channel.read_into(scratch),
                               deadline.remaining('send'))
        except asyncio.TimeoutError:
            raise PipeTimeoutError(f'send timed out after {deadline.timeout}'
                                   f' s (the receiver did not close)') \
                from None
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise ConnectionClosedError(f'peer reset the pipe ({exc})') \
                from exc
        if not n:
            return total
        total += n

