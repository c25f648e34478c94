"""The frame session's rules, written once for every driver (no I/O).

What a receive may wait for and why a connection ends: the caller's own
deadline, the connection's ``idle_timeout`` (seconds a receive may wait for
the peer's next bytes) and ``frame_timeout`` (seconds one frame may take
from its first byte); the error each ending raises; and NO_REPLY, what a
request whose peer closed instead of answering usually means.  The blocking
Connection, the asyncio Connection and both RPC engines move the bytes and
ask this module what the rules say.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, Tuple, TypedDict, Union

from ._decoder import FrameDecoder
from ._frames import FrameEncoder, check_size
from ._util import positive_or_none
from . import _hints as hints
from .access import UNKNOWN, PeerIdentity
from .consts import DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD
from .message import to_payload
from .sharedmemory import SharedMemory, shared_memory
from ._shmlink import ShmLink
from .errors import ConnectionClosedError, IncompleteFrameError, NPipesError

__all__ = ['FrameSession', 'Timeouts', 'NO_REPLY', 'IDLE', 'FRAME', 'PEER_CLOSED',
           'CLOSED_HERE', 'closed_here', 'peer_gone', 'no_reply', 'send_cut']

#: ConnectionClosedError.reason values.
IDLE = 'idle timeout'
FRAME = 'frame timeout'
PEER_CLOSED = 'peer closed'
CLOSED_HERE = 'closed'

#: Why a request whose peer closed the connection before replying usually
#: failed (the .NET library says the same; the words are _hints').
NO_REPLY = hints.NO_REPLY


def closed_here() -> ConnectionClosedError:
    """The error of a send or receive under way when this side closed the
    connection (another thread or task called close): both drivers."""
    return ConnectionClosedError('connection closed by this side',
                                 reason=CLOSED_HERE)


def peer_gone(in_frame: bool) -> NPipesError:
    """The error for an end of stream: mid-frame, or between frames."""
    if in_frame:
        return IncompleteFrameError(
            'peer closed the pipe in the middle of a frame')
    return ConnectionClosedError('peer closed the pipe')


def no_reply(exc: ConnectionClosedError) -> ConnectionClosedError:
    """What a request raises when *exc* ended it: a peer that closed
    instead of replying gets NO_REPLY (the frame format has no error
    reply: a server that cannot read a request can only close)."""
    if exc.reason != PEER_CLOSED:
        return exc
    return ConnectionClosedError(NO_REPLY)


def send_cut(exc: ConnectionClosedError) -> ConnectionClosedError:
    """What a request raises when *exc* ended the sending of its frame: a
    peer that closed gets hints.cut_while_sending (a server closes a frame
    over its limit from the header, before reading the rest)."""
    cause = exc.__cause__
    if exc.reason != PEER_CLOSED or not isinstance(cause, OSError):
        return exc                 # closed before: nothing was being sent
    return ConnectionClosedError(
        hints.cut_while_sending(cause.strerror or str(cause)))


class Timeouts:
    """One connection's idle and frame timeouts, and when the frame being
    received started (``time.monotonic()``; None between frames)."""

    __slots__ = ('idle', 'frame', 'frame_started')

    def __init__(self, idle: Optional[float] = None,
                 frame: Optional[float] = None) -> None:
        self.idle = positive_or_none('idle_timeout', idle)
        self.frame = positive_or_none('frame_timeout', frame)
        self.frame_started: Optional[float] = None

    @property
    def off(self) -> bool:
        """Neither timeout is set: only the caller's deadline counts."""
        return self.idle is None and self.frame is None

    def limit(self, remaining: Optional[float],
              idle_left: Optional[float] = None, idle: bool = True
              ) -> Tuple[Optional[float], Optional[str]]:
        """``(seconds, reason)`` one read may wait: the least of the
        caller's *remaining* seconds (reason None), the idle time left
        (*idle_left*, by default the whole idle_timeout) and the frame's
        time left (0 or less: that reason's time is up).  ``idle=False``
        leaves the idle timeout out (an engine with its own idle rule)."""
        best, reason = remaining, None
        if self.idle is not None and idle:
            left = self.idle if idle_left is None else idle_left
            if best is None or left < best:
                best, reason = left, IDLE
        started = self.frame_started
        if self.frame is not None and started is not None:
            left = started + self.frame - time.monotonic()
            if best is None or left < best:
                best, reason = left, FRAME
        return best, reason

    def expired(self, reason: str) -> ConnectionClosedError:
        """The error of a connection this side closes for *reason*."""
        seconds = self.idle if reason == IDLE else self.frame
        return ConnectionClosedError(f'connection closed by this side: '
                                     f'{reason} ({seconds} s)', reason=reason)

    def bytes_arrived(self) -> None:
        """Bytes of a frame arrived without completing it."""
        if self.frame_started is None and self.frame is not None:
            self.frame_started = time.monotonic()

    def frame_done(self, in_frame: bool) -> None:
        """A frame was taken (or refused); *in_frame*: bytes of the next one
        were read ahead, so its time starts now."""
        self.frame_started = time.monotonic() \
            if in_frame and self.frame is not None else None


class ConnectionOptions(TypedDict, total=False):
    """The keyword options of a Connection (all optional)."""

    crc: bool
    endian: str
    encoding: str
    max_payload: Optional[int]
    idle_timeout: Optional[float]
    frame_timeout: Optional[float]
    on_close: Optional[Callable[[], None]]
    shared_memory: Union[SharedMemory, bool, None]


class FrameSession:
    """What a Connection is besides moving bytes, for both drivers (the
    blocking connection.py and the asyncio _aio_connection.py): its frame
    options, encoder, decoder and timeouts, and its ``on_close`` hook."""

    #: Before the class name in repr() ('aio.' for the asyncio one).
    _repr_prefix = ''
    #: Who is at the other end (set from the transport's stream).
    _peer: PeerIdentity = UNKNOWN
    #: The connection's shared memory (docs/shared-memory.md; None: off).
    _shm: Optional[ShmLink] = None

    @property
    def peer(self) -> PeerIdentity:
        """Who is at the other end (docs/access.md §5): on a server the
        client, on a client the server; read once when it connected."""
        return self._peer

    def _start_session(self, read_ahead: bool,
                       options: ConnectionOptions) -> None:
        crc = options.get('crc', False)
        endian = options.get('endian', DEFAULT_ENDIAN)
        max_payload = options.get('max_payload', DEFAULT_MAX_PAYLOAD)
        self._encoder = FrameEncoder(endian)
        self._endian = endian
        #: docs/shared-memory.md: None when off.  With it on a read never
        #: goes past the frame being decoded (no read-ahead), so every file
        #: that arrives belongs to that frame (§4.1).
        self.shared_memory = shared_memory(options.get('shared_memory'))
        read_ahead = read_ahead and self.shared_memory is None
        self.crc = crc
        self.encoding = options.get('encoding', DEFAULT_ENCODING)
        self.max_payload = max_payload
        self._timeouts = Timeouts(options.get('idle_timeout'),
                                  options.get('frame_timeout'))
        self._decoder = FrameDecoder(crc=crc, endian=endian,
                                     max_payload=max_payload,
                                     read_ahead=read_ahead,
                                     descriptors=self.shared_memory is not None)
        self._on_close = options.get('on_close')

    @property
    def endian(self) -> str:
        """Byte order of the frame integers (big, little, native, network)."""
        return self._endian

    @endian.setter
    def endian(self, endian: str) -> None:     # changes what is sent
        self._encoder, self._endian = FrameEncoder(endian), endian
        if self._shm is not None:              # descriptor frames too
            self._shm.endian = endian

    @property
    def idle_timeout(self) -> Optional[float]:
        """Seconds a receive may wait for the peer's next bytes (None)."""
        return self._timeouts.idle

    @idle_timeout.setter
    def idle_timeout(self, seconds: Optional[float]) -> None:
        self._timeouts.idle = positive_or_none('idle_timeout', seconds)

    @property
    def frame_timeout(self) -> Optional[float]:
        """Seconds one frame may take from its first byte (None)."""
        return self._timeouts.frame

    @frame_timeout.setter
    def frame_timeout(self, seconds: Optional[float]) -> None:
        self._timeouts.frame = positive_or_none('frame_timeout', seconds)

    @property
    def last_crc(self) -> Optional[int]:
        """The CRC field of the last frame received (None before any)."""
        return self._decoder.last_crc

    @property
    def frame_started(self) -> Optional[float]:
        """time.monotonic() at the first bytes of the frame being received;
        None between frames (and always None while frame_timeout is None)."""
        return self._timeouts.frame_started

    def _frame(self, data: Union[str, bytes, bytearray, memoryview]) -> bytes:
        """The frame of *data* (str encoded strictly; FrameTooLargeError
        over max_payload)."""
        payload = data if isinstance(data, (bytes, bytearray)) \
            else to_payload(data, self.encoding)
        check_size(len(payload), self.max_payload)
        return self._encoder.frame(payload, self.crc)

    def _closing(self) -> None:
        """Call on_close, once."""
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        state = 'closed' if self.closed else 'open'
        return (f'<{self._repr_prefix}{type(self).__name__} {state} '
                f'endian={self.endian} crc={self.crc} '
                f'encoding={self.encoding}>')
