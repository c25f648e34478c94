"""A persistent pipe connection carrying many frames each way."""

from __future__ import annotations

import struct
import time
import zlib
from typing import (Any, Callable, Optional, Protocol, Sequence, Tuple,
                    TypeVar, Union, overload)

from . import transport
from ._frames import MAX_WIRE_PAYLOAD, check_size, layout
from ._util import Deadline, RawIO, typed_os_error
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     DEFAULT_PIPE_NAME, HEADER_SIZE, TRAILER_SIZE)
from .errors import (ConnectionClosedError, FrameError,
                     IncompleteFrameError, NPipesError, PipeTimeoutError)
from .message import FrameDecoder, to_payload, to_text

__all__ = ['Connection', 'connect']

Buffer = Union[bytes, bytearray, memoryview]
_Number = TypeVar('_Number', int, float)
#: The deadline of every call made without a timeout (it never changes).
_FOREVER = Deadline(None)
#: Payloads larger than this are written from their parts (no copy); a
#: smaller frame is joined first, which costs less than a gathering write.
_GATHER_FROM = 8 * 1024
#: Bytes of a frame besides its payload (header and CRC field).
_FRAMING = HEADER_SIZE + TRAILER_SIZE


class _Stream(Protocol):
    """What a Connection needs of a transport's stream (transport.py)."""

    def recv_into(self, view: memoryview, deadline: Deadline) -> int: ...

    def send(self, frame: Buffer, deadline: Deadline) -> None: ...

    def close(self) -> None: ...


def _positive_or_none(name: str,
                      value: Optional[_Number]) -> Optional[_Number]:
    if value is not None and not value > 0:
        raise ValueError(f'{name} must be > 0 or None, got {value!r}')
    return value


#: Why a request whose peer closed the connection before replying usually
#: failed (the .NET library says the same).
NO_REPLY = ('the server closed the connection without replying; a server '
            'closes a connection whose frame it cannot read: check that both '
            'sides use the same CRC setting, byte order, encoding and maximum '
            'message size')


class Connection:
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
    A Connection is not meant to be used by several threads at once.
    """

    def __init__(self, stream: Any, *, crc: bool = False,
                 endian: str = DEFAULT_ENDIAN,
                 encoding: str = DEFAULT_ENCODING,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                 idle_timeout: Optional[float] = None,
                 frame_timeout: Optional[float] = None) -> None:
        self._stream: Optional[_Stream] = stream
        # A stream that can write a frame from its parts (header, payload,
        # CRC field) without joining them: the payload is never copied.
        self._send_parts: Optional[
            Callable[[Sequence[Buffer], Deadline], None]] = getattr(
                stream, 'send_parts', None)
        # A socket's own calls, for sends and receives without a deadline:
        # one system call with no Python layer between (Stream.raw_io).
        raw_io: Optional[Callable[[], RawIO]] = getattr(stream, 'raw_io',
                                                        None)
        self._raw: Optional[RawIO] = None if raw_io is None else raw_io()
        # The frame of the last small payload size sent twice in a row,
        # packed in one call (header, payload, CRC field): a ping-pong's.
        self._small_size = -1
        self._small: Optional[struct.Struct] = None
        self.crc = crc
        self._layout = layout(endian)
        self._endian = endian
        self.encoding = encoding
        self.max_payload = max_payload
        self.idle_timeout = _positive_or_none('idle_timeout', idle_timeout)
        self.frame_timeout = _positive_or_none('frame_timeout', frame_timeout)
        # Read-ahead: one read may bring several frames (kept for the next
        # recv), so a small frame costs one system call, not two.
        self._decoder = FrameDecoder(crc=crc, endian=endian,
                                     max_payload=max_payload,
                                     read_ahead=True)
        self._frame_started: Optional[float] = None   # a frame's first bytes
        self._on_close: Optional[Callable[[], None]] = None  # set by Listener

    @classmethod
    def connect(cls, name: str = DEFAULT_PIPE_NAME,
                timeout: Optional[float] = None, *,
                allow_other_users: bool = False,
                **options: Any) -> Connection:
        """Connect to the server of pipe *name*, waiting up to *timeout*
        seconds (None: forever) for it to appear.

        The server must run as the current user: otherwise PipeAccessError,
        before a byte is written or read (``allow_other_users=True`` lifts
        that check).  Something at the pipe's path that is not a socket
        raises PipePathOccupiedError at once.
        """
        stream = transport.connect(name, Deadline(timeout), allow_other_users)
        try:
            return cls(stream, **options)
        except BaseException:
            stream.close()
            raise

    @property
    def endian(self) -> str:
        """Byte order of the frame integers (big, little, native, network)."""
        return self._endian

    @endian.setter
    def endian(self, endian: str) -> None:     # changes what is sent
        self._layout, self._endian = layout(endian), endian
        self._small_size, self._small = -1, None

    # -- sending ---------------------------------------------------------
    def _send(self, data: Any, deadline: Deadline) -> None:
        """Send *data* (str, or bytes-like: bytes and bytearray uncopied)."""
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
        frame = self._layout
        send_parts = self._send_parts
        if size > _GATHER_FROM and send_parts is not None:
            crc = zlib.crc32(payload) if self.crc else 0
            send_parts((frame.header.pack(size + HEADER_SIZE, size), payload,
                        frame.field.pack(crc)), deadline)
            return
        # small, or one write per frame (a Windows pipe message)
        crc = zlib.crc32(payload) if self.crc else 0
        small = self._small
        if small is not None and small.size == size + _FRAMING:
            joined = small.pack(size + HEADER_SIZE, size, payload, crc)
        else:
            joined = frame.header.pack(size + HEADER_SIZE, size) + payload \
                + frame.field.pack(crc)
            if size == self._small_size and size <= _GATHER_FROM:
                self._small = struct.Struct(f'{frame.prefix}II{size}sI')
            self._small_size = size
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
    def _read_deadline(self, deadline: Deadline
                       ) -> Tuple[Deadline, Optional[str]]:
        """The deadline for one read, and the limit it stands for (None:
        the caller's own deadline)."""
        best, reason = deadline.remaining('receive'), None
        if self.idle_timeout is not None and \
                (best is None or self.idle_timeout < best):
            best, reason = self.idle_timeout, 'idle timeout'
        if self.frame_timeout is not None and self._frame_started is not None:
            left = self._frame_started + self.frame_timeout - time.monotonic()
            if best is None or left < best:
                best, reason = left, 'frame timeout'
        if reason is None or best is None:
            return deadline, None
        if best <= 0:
            self._close_for(reason)
        return Deadline(best), reason

    def _close_for(self, reason: str) -> None:
        limit = self.idle_timeout if reason == 'idle timeout' \
            else self.frame_timeout
        self.close()
        raise ConnectionClosedError(f'connection closed by this side: '
                                    f'{reason} ({limit} s)', reason=reason)

    def _took(self, payload: bytes) -> bytes:
        """Return *payload*; a frame timeout starts over with the bytes of
        the next frame already read ahead, if any."""
        self._frame_started = time.monotonic() \
            if self._decoder.in_frame else None
        return payload

    def _recv(self, deadline: Deadline) -> bytes:
        stream, decoder = self._stream, self._decoder
        if stream is None:
            raise NPipesError('connection is closed')
        raw = self._raw
        if raw is not None and deadline is _FOREVER and \
                self.idle_timeout is None and self.frame_timeout is None:
            try:
                payload = decoder.receive(raw.recv_into)
            except OSError as exc:
                error = typed_os_error(exc)
                if not isinstance(error, ConnectionClosedError):
                    raise error from exc
                payload = None                 # a reset: the peer is gone
            if payload is not None:
                return payload
            if decoder.in_frame:
                raise IncompleteFrameError(
                    'peer closed the pipe in the middle of a frame')
            raise ConnectionClosedError('peer closed the pipe')
        try:
            payload = decoder.take()          # read ahead by an earlier recv
            if payload is not None:
                return payload if self.frame_timeout is None \
                    else self._took(payload)
            while True:
                if self.idle_timeout is None and self.frame_timeout is None:
                    limit, reason = deadline, None
                else:
                    limit, reason = self._read_deadline(deadline)
                try:
                    n = stream.recv_into(decoder.want(), limit)
                except ConnectionClosedError:
                    n = 0                      # a reset: the peer is gone
                except PipeTimeoutError:
                    if reason is None:
                        raise
                    self._close_for(reason)
                if n == 0:
                    if decoder.in_frame:
                        raise IncompleteFrameError(
                            'peer closed the pipe in the middle of a frame')
                    raise ConnectionClosedError('peer closed the pipe')
                payload = decoder.advance(n)
                if payload is not None:
                    return payload if self.frame_timeout is None \
                        else self._took(payload)
                if self._frame_started is None and \
                        self.frame_timeout is not None:
                    self._frame_started = time.monotonic()
        except FrameError:
            self._frame_started = None
            raise

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """Receive one frame's payload (bytes).

        Raises ConnectionClosedError on a clean EOF between frames,
        IncompleteFrameError if the peer vanished mid-frame, and
        PipeTimeoutError after *timeout* seconds (a partly received frame
        is kept, and the next call continues it).
        """
        deadline = _FOREVER if timeout is None else Deadline(timeout)
        return self._recv(deadline)

    @property
    def last_crc(self) -> Optional[int]:
        """The CRC field of the last frame received (None before any)."""
        return self._decoder.last_crc

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
        self._send(data, deadline)
        try:
            reply = self._recv(deadline)
        except ConnectionClosedError as exc:
            if exc.reason != 'peer closed':
                raise
            # The frame format has no error reply: a server that cannot
            # read a request's frame can only close the connection.
            raise ConnectionClosedError(NO_REPLY) from exc
        return to_text(reply, self.encoding) if isinstance(data, str) \
            else reply

    # -- lifetime --------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._stream is None

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            finally:
                on_close, self._on_close = self._on_close, None
                if on_close is not None:
                    on_close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = 'closed' if self.closed else 'open'
        return (f'<{type(self).__name__} {state} endian={self.endian} '
                f'crc={self.crc} encoding={self.encoding}>')

    # -- for npipes' own engines (npipes.rpc takes a connection's I/O over):
    # the state they rely on, read only through these two.
    @property
    def transport_stream(self) -> Optional[_Stream]:
        """The transport's stream under this connection (None once closed).
        An engine that does its own I/O on it must not call send/recv."""
        return self._stream

    @property
    def frame_started(self) -> Optional[float]:
        """time.monotonic() at the first bytes of the frame being received;
        None between frames (and always None while frame_timeout is None)."""
        return self._frame_started


def connect(name: str = DEFAULT_PIPE_NAME, timeout: Optional[float] = None,
            **options: Any) -> Connection:
    """Shorthand for :meth:`Connection.connect`."""
    return Connection.connect(name, timeout, **options)
