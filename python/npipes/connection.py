"""A persistent pipe connection carrying many frames each way."""

from . import transport
from ._util import Deadline
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     DEFAULT_PIPE_NAME)
from .errors import ConnectionClosedError, IncompleteFrameError, NPipesError
from .message import FrameDecoder, encode_frame, to_payload, to_text

__all__ = ['Connection', 'connect']

_PEER_GONE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Connection:
    """Frames over one connected pipe (either end).

    ``send`` writes one frame per call; ``recv`` returns one payload per
    call, however the frame was split by the transport.  Payloads above
    ``max_payload`` are refused from the header, before allocation.  With
    ``crc=True`` frames carry a CRC-32 and received ones are checked
    (CrcMismatchError; the connection stays usable).  A Connection is not
    meant to be used by several threads at once.
    """

    def __init__(self, stream, *, crc=False, endian=DEFAULT_ENDIAN,
                 encoding=DEFAULT_ENCODING, max_payload=DEFAULT_MAX_PAYLOAD):
        self._stream = stream
        self.crc = crc
        self.endian = endian
        self.encoding = encoding
        self.max_payload = max_payload
        self._decoder = FrameDecoder(crc=crc, endian=endian,
                                     max_payload=max_payload)

    @classmethod
    def connect(cls, name=DEFAULT_PIPE_NAME, timeout=None, **options):
        """Connect to the server of pipe *name*, waiting up to *timeout*
        seconds (None: forever) for it to appear."""
        stream = transport.connect(name, Deadline(timeout))
        try:
            return cls(stream, **options)
        except BaseException:
            stream.close()
            raise

    # -- sending ---------------------------------------------------------
    def _send(self, payload, deadline):
        frame = encode_frame(payload, crc=self.crc, endian=self.endian,
                             max_payload=self.max_payload)
        try:
            self._live().send(frame, deadline)
        except _PEER_GONE as exc:
            raise ConnectionClosedError(
                f'peer closed the pipe: {exc}') from exc

    def send(self, data, timeout=None):
        """Send one frame; *data* is bytes, or str (encoded strictly)."""
        self._send(to_payload(data, self.encoding), Deadline(timeout))

    # -- receiving -------------------------------------------------------
    def _recv(self, deadline):
        stream, decoder = self._live(), self._decoder
        while True:
            try:
                n = stream.recv_into(decoder.want(), deadline)
            except _PEER_GONE:
                n = 0
            if n == 0:
                if decoder.in_frame:
                    raise IncompleteFrameError(
                        'peer closed the pipe in the middle of a frame')
                raise ConnectionClosedError('peer closed the pipe')
            payload = decoder.advance(n)
            if payload is not None:
                return payload

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
            stream.close()

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
