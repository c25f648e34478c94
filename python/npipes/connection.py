"""A persistent pipe connection carrying many frames each way."""

from __future__ import annotations

import zlib
from typing import Any, Callable, Optional, Union, overload

from . import _shmconn, transport
from ._frames import MAX_WIRE_PAYLOAD, FrameEncoder, check_size
from ._session import (PEER_CLOSED, ConnectionOptions, FrameSession,
                       closed_here, no_reply, peer_gone, send_cut)
from ._session import NO_REPLY as NO_REPLY
from ._shmlink import open_link
from ._util import Deadline, RawIO, typed_os_error
from .access import UNKNOWN, Entries, PeerIdentity, client_policy
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     DEFAULT_PIPE_NAME, FRAME_OVERHEAD, HEADER_SIZE)
from .errors import (ConnectionClosedError, FrameError,
                     IncompleteFrameError, NPipesError, PipeOSError,
                     PipeTimeoutError, SharedMemoryError)
from .message import to_payload, to_text
from .sharedmemory import SharedMemory

__all__ = ['Connection', 'connect']

Buffer = Union[bytes, bytearray, memoryview]
#: The deadline of every call made without a timeout (it never changes).
_FOREVER = Deadline(None)


class Connection(_shmconn.InPlace, FrameSession):
    """Frames over one connected pipe (either end).

    ``send`` writes one frame per call; ``recv`` returns one payload per
    call, however the frame was split by the transport.  Payloads above
    ``max_payload`` are refused from the header, before allocation, and
    memory grows only with the bytes that arrive (an 8 KiB read buffer; a
    larger payload in pieces at most twice what arrived, of which up to
    1 MiB is kept for the next one).  With ``crc=True`` frames
    carry a CRC-32 and received ones are checked (CrcMismatchError; the
    connection stays usable).

    ``idle_timeout`` (seconds a receive may wait for the peer's next bytes)
    and ``frame_timeout`` (seconds one frame may take to arrive, from its
    first byte) close the connection when they run out: the receive raises
    ConnectionClosedError with ``reason`` 'idle timeout' / 'frame timeout'.
    A Listener sets them on its connections; both default to None (never).
    ``on_close`` is called once when the connection closes.
    ``shared_memory`` (a :class:`~npipes.SharedMemory`, or True for its
    defaults; Linux and Windows, both peers) sends payloads of at least
    ``min_payload`` bytes through shared memory
    (docs/shared-memory.md): :meth:`create_message` writes one in place,
    :meth:`recv_buffer` reads one in place; SharedMemoryError if this
    platform cannot.
    A Connection is not meant to be used by several threads at once.
    """

    def __init__(self, stream: transport.PipeStream, *, crc: bool = False,
                 endian: str = DEFAULT_ENDIAN,
                 encoding: str = DEFAULT_ENCODING,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                 idle_timeout: Optional[float] = None,
                 frame_timeout: Optional[float] = None,
                 on_close: Optional[Callable[[], None]] = None,
                 shared_memory: Union[SharedMemory, bool, None] = None
                 ) -> None:
        self._stream: Optional[transport.PipeStream] = stream
        # (a stream of the tests' making may not say who its peer is)
        self._peer: PeerIdentity = getattr(stream, 'peer', UNKNOWN)
        caps = stream.capabilities()
        # A gathering write (the payload is never copied), and the socket's
        # own calls for sends and receives without a deadline: one system
        # call with no Python layer between.
        self._send_parts = caps.send_parts
        self._raw = caps.raw
        #: A read with a deadline: the stream's, or shared memory's.
        self._recv_until: Optional[Callable[[memoryview, Deadline], int]] \
            = None
        # Read-ahead: one read may bring several frames (kept for the next
        # recv), so a small frame costs one system call, not two.
        self._start_session(True, ConnectionOptions(
            crc=crc, endian=endian, encoding=encoding, max_payload=max_payload,
            idle_timeout=idle_timeout, frame_timeout=frame_timeout,
            on_close=on_close, shared_memory=shared_memory))
        self._shm = open_link(caps, self.shared_memory, crc, endian)
        files = None if self._shm is None else self._shm.files
        if files is not None:              # every read collects files
            self._recv_until = files.recv_until
            raw = self._raw
            if raw is not None:
                self._raw = RawIO(raw.sendall, raw.flags, files.recv_into)

    @classmethod
    def connect(cls, name: str = DEFAULT_PIPE_NAME,
                timeout: Optional[float] = None, *,
                allow_other_users: bool = False,
                server_users: Optional[Entries] = None,
                server_groups: Optional[Entries] = None,
                **options: Any) -> Connection:
        """Connect to the server of pipe *name*, waiting up to *timeout*
        seconds (None: forever) for it to appear.

        The server must run as the current user, or as one of
        *server_users* (names, uids, SIDs; ``npipes.ROOT``,
        ``npipes.LOCAL_SYSTEM``...), or hold one of *server_groups*
        (names, gids, SIDs; ``npipes.ADMINISTRATORS``...; on Unix
        supplementary membership counts): otherwise PipeAccessError naming
        the server's user, before a byte is written or read, never retried
        (docs/access.md §4; ``allow_other_users=True`` trusts any server).
        Something at the pipe's path that is not a socket raises
        PipePathOccupiedError at once.  ``peer`` tells who the server is.
        """
        stream = transport.connect(name, Deadline(timeout), client_policy(
            allow_other_users, server_users, server_groups))
        try:
            return cls(stream, **options)
        except BaseException:
            stream.close()
            raise

    def _closed_meanwhile(self, exc: NPipesError) -> Optional[NPipesError]:
        """The error to raise instead of *exc*, which a send or receive met
        after this side closed the connection (close() from another
        thread): closed_here(), as the asyncio driver's, not the socket's
        EBADF or an end of stream blamed on the peer; None if *exc* stands
        (not closed, or the call's own timeout or refusal, which closes
        the connection itself and says so)."""
        if self._stream is not None:
            return None
        if isinstance(exc, (PipeOSError, IncompleteFrameError)) or (
                isinstance(exc, ConnectionClosedError)
                and exc.reason == PEER_CLOSED):
            return closed_here()
        return None

    # -- sending ---------------------------------------------------------
    def _send(self, data: Any, deadline: Deadline) -> None:
        """Send *data* (str, or bytes-like: bytes and bytearray uncopied)."""
        try:
            self._send_now(data, deadline)
        except NPipesError as exc:
            error = self._closed_meanwhile(exc)
            if error is None:
                raise
            raise error from exc

    def _send_now(self, data: Any, deadline: Deadline) -> None:
        payload: Union[bytes, bytearray] = data \
            if isinstance(data, (bytes, bytearray)) \
            else to_payload(data, self.encoding)
        size = len(payload)
        limit = self.max_payload
        if size > MAX_WIRE_PAYLOAD or (limit is not None and size > limit):
            check_size(size, limit)
        stream = self._stream
        if stream is None:
            raise NPipesError('connection is closed')
        if self._shm is not None and self._shm.wanted(size):
            try:
                if _shmconn.send(self._shm, payload, deadline):
                    return
            except SharedMemoryError:
                self.close()               # (the peer broke the ring's rules)
                raise
        send_parts = self._send_parts
        if size > FrameEncoder.SMALL and send_parts is not None:
            header, trailer = self._encoder.ends(payload, self.crc)
            send_parts((header, payload, trailer), deadline)
            return
        # small, or one write per frame (a Windows pipe message); a
        # ping-pong's size packed in one call without a call between
        small = self._encoder.small
        if small is not None and small.size == size + FRAME_OVERHEAD:
            joined = small.pack(size + HEADER_SIZE, size, payload,
                                zlib.crc32(payload) if self.crc else 0)
        else:
            joined = self._encoder.frame(payload, self.crc)
        raw = self._raw
        if raw is None or deadline is not _FOREVER:
            stream.send(joined, deadline)
            return
        try:
            raw.sendall(joined, raw.flags)
        except OSError as exc:
            raise typed_os_error(exc) from exc

    def send(self, data: Union[str, Buffer],
             timeout: Optional[float] = None) -> None:
        """Send one frame; *data* is bytes, or str (encoded strictly).

        ConnectionClosedError if the peer has gone (never SIGPIPE)."""
        deadline = _FOREVER if timeout is None else Deadline(timeout)
        self._send(data, deadline)

    # -- receiving -------------------------------------------------------
    def _recv(self, deadline: Deadline) -> bytes:
        if self._shm is None:
            return self._recv_frame(deadline)
        return _shmconn.copy_out(self._received(deadline))

    def _recv_frame(self, deadline: Deadline) -> bytes:
        try:
            return self._recv_frame_now(deadline)
        except NPipesError as exc:
            error = self._closed_meanwhile(exc)
            if error is None:
                raise
            raise error from exc

    def _recv_frame_now(self, deadline: Deadline) -> bytes:
        stream, decoder, timeouts = self._stream, self._decoder, self._timeouts
        if stream is None:
            raise NPipesError('connection is closed')
        raw = self._raw
        if raw is not None and deadline is _FOREVER and \
                timeouts.idle is None and timeouts.frame is None:
            try:
                payload = decoder.receive(raw.recv_into)
            except OSError as exc:
                error = typed_os_error(exc)
                if not isinstance(error, ConnectionClosedError):
                    raise error from exc
                payload = None                 # a reset: the peer is gone
            if payload is not None:
                return payload
            raise peer_gone(decoder.in_frame)
        try:
            payload = decoder.take()          # read ahead by an earlier recv
            while payload is None:
                limit, reason = deadline, None
                if not timeouts.off:
                    seconds, reason = timeouts.limit(
                        deadline.remaining('receive'))
                    if seconds is not None and reason is not None:
                        if seconds <= 0:
                            self.close()
                            raise timeouts.expired(reason)
                        limit = Deadline(seconds)
                try:
                    n = (self._recv_until or stream.recv_into)(
                        decoder.want(), limit)
                except ConnectionClosedError:
                    n = 0                      # a reset: the peer is gone
                except PipeTimeoutError:
                    if reason is None:
                        raise
                    self.close()
                    raise timeouts.expired(reason) from None
                if n == 0:
                    raise peer_gone(decoder.in_frame)
                payload = decoder.advance(n)
                if payload is None:
                    timeouts.bytes_arrived()
        except FrameError:
            timeouts.frame_started = None
            raise
        if timeouts.frame is not None:
            timeouts.frame_done(decoder.in_frame)
        return payload

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """Receive one frame's payload (bytes).

        Raises ConnectionClosedError on a clean EOF between frames,
        IncompleteFrameError if the peer vanished mid-frame, and
        PipeTimeoutError after *timeout* seconds (a partly received frame
        is kept, and the next call continues it).
        """
        deadline = _FOREVER if timeout is None else Deadline(timeout)
        return self._recv(deadline)

    def _deadline(self, timeout: Optional[float]) -> Deadline:
        return _FOREVER if timeout is None else Deadline(timeout)

    def recv_text(self, timeout: Optional[float] = None) -> str:
        """Receive one frame and decode it strictly (DecodeError if invalid)."""
        return to_text(self.recv(timeout), self.encoding)

    @overload
    def request(self, data: str, timeout: Optional[float] = None) -> str: ...

    @overload
    def request(self, data: Buffer,
                timeout: Optional[float] = None) -> bytes: ...

    def request(self, data: Union[str, Buffer],
                timeout: Optional[float] = None) -> Union[str, bytes]:
        """Send *data* and return the reply (str in, str out; bytes in,
        bytes out); *timeout* covers both.  A peer that closes the
        connection instead of replying raises ConnectionClosedError with
        NO_REPLY, what usually causes that."""
        deadline = _FOREVER if timeout is None else Deadline(timeout)
        try:
            self._send(data, deadline)
        except ConnectionClosedError as exc:
            error = send_cut(exc)
            if error is exc:
                raise
            raise error from exc
        try:
            reply = self._recv(deadline)
        except ConnectionClosedError as exc:
            error = no_reply(exc)
            if error is exc:
                raise
            raise error from exc
        return to_text(reply, self.encoding) if isinstance(data, str) \
            else reply

    # -- lifetime --------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._stream is None

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            if self._shm is not None:
                self._shm.close()
            try:
                stream.close()
            finally:
                self._closing()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- for npipes' own engines (npipes.rpc takes a connection's I/O over):
    # the state they rely on, read only through this and frame_started.
    @property
    def transport_stream(self) -> Optional[transport.PipeStream]:
        """The transport's stream under this connection (None once closed).
        An engine that does its own I/O on it must not call send/recv."""
        return self._stream


def connect(name: str = DEFAULT_PIPE_NAME, timeout: Optional[float] = None,
            **options: Any) -> Connection:
    """Shorthand for :meth:`Connection.connect`."""
    return Connection.connect(name, timeout, **options)
