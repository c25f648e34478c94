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
from typing import Optional, Tuple

from ._util import positive_or_none
from .errors import ConnectionClosedError, IncompleteFrameError, NPipesError

__all__ = ['Timeouts', 'NO_REPLY', 'IDLE', 'FRAME', 'PEER_CLOSED',
           'peer_gone', 'no_reply']

#: ConnectionClosedError.reason values.
IDLE = 'idle timeout'
FRAME = 'frame timeout'
PEER_CLOSED = 'peer closed'

#: Why a request whose peer closed the connection before replying usually
#: failed (the .NET library says the same).
NO_REPLY = ('the server closed the connection without replying; a server '
            'closes a connection whose frame it cannot read: check that both '
            'sides use the same CRC setting, byte order, encoding and maximum '
            'message size')


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
