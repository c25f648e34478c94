"""A persistent pipe connection carrying many frames each way."""

import time

from . import transport
from ._util import Deadline
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     DEFAULT_PIPE_NAME)
from .errors import (ConnectionClosedError, IncompleteFrameError, NPipesError,
                     PipeTimeoutError)
from .message import FrameDecoder, encode_frame, to_payload, to_text

__all__ = ['Connection', 'connect']


def _positive_or_none(name, value):
    if value is not None and not value > 0:
        raise ValueError(f'{name} must be > 0 or None, got {value!r}')
    return value


class Connection:
    """Frames over one connected pipe (either end).

    ``send`` writes one frame per call; ``recv`` returns one payload per
    call, however the frame was split by the transport.  Payloads above
    ``max_payload`` are refused from the header, before allocation, and
    memory grows only with the bytes that arrive.  With ``crc=True`` frames
    carry a CRC-32 and received ones are checked (CrcMismatchError; the
    connection stays usable).

    ``idle_timeout`` (seconds a receive may wait for the peer's next bytes)
    and ``frame_timeout`` (seconds one frame may take to arrive, from its
    first byte) close the connection when they run out: the receive raises
    ConnectionClosedError with ``reason`` 'idle timeout' / 'frame timeout'.
    A Listener sets them on its connections; both default to None (never).
    A Connection is not meant to be used by several threads at once.
    """

    def __init__(self, stream, *, crc=False, endian=DEFAULT_ENDIAN,
                 encoding=DEFAULT_ENCODING, max_payload=DEFAULT_MAX_PAYLOAD,
                 idle_timeout=None, frame_timeout=None):
        self._stream = stream
        self.crc = crc
        self.endian = endian
        self.encoding = encoding
        self.max_payload = max_payload
        self.idle_timeout = _positive_or_none('idle_timeout', idle_timeout)
        self.frame_timeout = _positive_or_none('frame_timeout', frame_timeout)
        self._decoder = FrameDecoder(crc=crc, endian=endian,
                                     max_payload=max_payload)
        self._frame_started = None        # monotonic time of a frame's first bytes
        self._on_close = None             # set by a Listener to count it

    @classmethod
    def connect(cls, name=DEFAULT_PIPE_NAME, timeout=None, *,
                allow_other_users=False, **options):
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

    # -- sending ---------------------------------------------------------
    def _send(self, payload, deadline):
        frame = encode_frame(payload, crc=self.crc, endian=self.endian,
                             max_payload=self.max_payload)
        self._live().send(frame, deadline)

    def send(self, data, timeout=None):
        """Send one frame; *data* is bytes, or str (encoded strictly).

        ConnectionClosedError if the peer has gone (never SIGPIPE)."""
        self._send(to_payload(data, self.encoding), Deadline(timeout))

    # -- receiving -------------------------------------------------------
    def _read_deadline(self, deadline):
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
        if reason is None:
            return deadline, None
        if best <= 0:
            self._close_for(reason)
        return Deadline(best), reason

    def _close_for(self, reason):
        limit = self.idle_timeout if reason == 'idle timeout' \
            else self.frame_timeout
        self.close()
        raise ConnectionClosedError(f'connection closed by this side: '
                                    f'{reason} ({limit} s)', reason=reason)

    def _recv(self, deadline):
        stream, decoder = self._live(), self._decoder
        while True:
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
            try:
                payload = decoder.advance(n)
            except BaseException:
                self._frame_started = None
                raise
            if payload is not None:
                self._frame_started = None
                return payload
            if self._frame_started is None:
                self._frame_started = time.monotonic()

    def recv(self, timeout=None):
        """Receive one frame's payload (bytes).

        Raises ConnectionClosedError on a clean EOF between frames,
        IncompleteFrameError if the peer vanished mid-frame, and
        PipeTimeoutError after *timeout* seconds (a partly received frame
        is kept, and the next call continues it).
        """
        return self._recv(Deadline(timeout))

    @property
    def last_crc(self):
        """The CRC field of the last frame received (None before any)."""
        return self._decoder.last_crc

    def recv_text(self, timeout=None):
        """Receive one frame and decode it strictly (DecodeError if invalid)."""
        return to_text(self.recv(timeout), self.encoding)

    def request(self, data, timeout=None):
        """Send *data* and return the reply (str in, str out; bytes in,
        bytes out); *timeout* covers both."""
        deadline = Deadline(timeout)
        self._send(to_payload(data, self.encoding), deadline)
        reply = self._recv(deadline)
        return to_text(reply, self.encoding) if isinstance(data, str) \
            else reply

    # -- lifetime --------------------------------------------------------
    def _live(self):
        if self._stream is None:
            raise NPipesError('connection is closed')
        return self._stream

    @property
    def closed(self):
        return self._stream is None

    def close(self):
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            finally:
                on_close, self._on_close = self._on_close, None
                if on_close is not None:
                    on_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = 'closed' if self.closed else 'open'
        return (f'<{type(self).__name__} {state} endian={self.endian} '
                f'crc={self.crc} encoding={self.encoding}>')


def connect(name=DEFAULT_PIPE_NAME, timeout=None, **options):
    """Shorthand for :meth:`Connection.connect`."""
    return Connection.connect(name, timeout, **options)
