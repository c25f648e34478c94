"""The npipes 1.0.1 frame: pure encoding and decoding, no I/O.

One frame is::

    MessageLength u32 (= DataLength + 8) | DataLength u32 | Data | CRC-32 u32

with all three integers in one byte order (big endian by default, which is
what npipes 1.0.1 writes).  The CRC field is always present; it is 0 when
CRC is off and ``zlib.crc32(Data)`` when it is on.
"""

import struct
import zlib

from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     ENDIANS, FRAME_OVERHEAD, HEADER_SIZE, MAX_U32,
                     TRAILER_SIZE)
from .errors import (CrcMismatchError, DecodeError, EncodeError, FrameError,
                     FrameTooLargeError)

__all__ = ['Message', 'FrameDecoder', 'crc32', 'struct_prefix',
           'encode_frame', 'decode_frame', 'parse_header', 'to_payload',
           'to_text']

#: Largest payload the 32-bit MessageLength field can describe.
_MAX_WIRE_PAYLOAD = MAX_U32 - HEADER_SIZE
#: A frame body larger than this is received in chunks of this size, so
#: memory follows the bytes that arrived, not the length announced.
_CHUNK = 64 * 1024


def struct_prefix(endian):
    """Return the struct byte-order prefix for an npipes ``endian`` value."""
    try:
        return ENDIANS[str(endian).lower()]
    except KeyError:
        raise ValueError(f'endian must be one of {", ".join(ENDIANS)}; '
                         f'got {endian!r}') from None


def crc32(payload):
    """CRC-32 (IEEE 802.3, as zlib/PNG) of *payload* bytes."""
    return zlib.crc32(payload) & MAX_U32


def to_payload(data, encoding=DEFAULT_ENCODING):
    """Encode *data* (str) strictly; bytes-like data is passed through."""
    if isinstance(data, str):
        try:
            return data.encode(encoding)
        except UnicodeEncodeError as exc:
            raise EncodeError(f'text is not valid {encoding}: {exc}') from exc
    return bytes(data)


def to_text(payload, encoding=DEFAULT_ENCODING):
    """Decode *payload* strictly (a byte > 0x7F is an error for ASCII)."""
    try:
        return bytes(payload).decode(encoding)
    except UnicodeDecodeError as exc:
        raise DecodeError(f'payload is not valid {encoding}: {exc}') from exc


def _check_size(size, max_payload):
    if size > _MAX_WIRE_PAYLOAD or (max_payload is not None
                                    and size > max_payload):
        limit = _MAX_WIRE_PAYLOAD if max_payload is None else max_payload
        raise FrameTooLargeError(
            f'payload of {size} bytes exceeds the maximum of {limit} bytes')


def _pack_frame(payload, crc_value, prefix):
    n = len(payload)
    try:
        trailer = struct.pack(prefix + 'I', crc_value)
    except struct.error as exc:
        raise FrameError(f'CRC value {crc_value!r} does not fit in a u32') \
            from exc
    return struct.pack(prefix + 'II', n + HEADER_SIZE, n) + payload + trailer


def encode_frame(payload, crc=False, endian=DEFAULT_ENDIAN,
                 max_payload=DEFAULT_MAX_PAYLOAD):
    """Return the frame for *payload* bytes (CRC field 0 unless *crc*)."""
    payload = bytes(payload)
    _check_size(len(payload), max_payload)
    return _pack_frame(payload, crc32(payload) if crc else 0,
                       struct_prefix(endian))


def parse_header(header, prefix, max_payload=DEFAULT_MAX_PAYLOAD):
    """Check an 8-byte header and return DataLength (before any allocation)."""
    if len(header) != HEADER_SIZE:
        raise FrameError(f'frame header must be {HEADER_SIZE} bytes, '
                         f'got {len(header)}')
    message_length, data_length = struct.unpack(prefix + 'II', header)
    if message_length != data_length + HEADER_SIZE:
        raise FrameError(f'bad frame header: MessageLength {message_length} '
                         f'!= DataLength {data_length} + 8 (wrong byte '
                         f'order, or not an npipes frame?)')
    _check_size(data_length, max_payload)
    return data_length


def _check_crc(payload, received, crc):
    if crc:
        computed = crc32(payload)
        if computed != received:
            raise CrcMismatchError(received, computed)


def decode_frame(frame, crc=False, endian=DEFAULT_ENDIAN,
                 max_payload=DEFAULT_MAX_PAYLOAD):
    """Decode one complete frame; return ``(payload, crc_field)``.

    Raises FrameError if *frame* is not exactly one frame, and
    CrcMismatchError if *crc* is on and the CRC does not match.
    """
    frame = memoryview(frame).cast('B')
    prefix = struct_prefix(endian)
    data_length = parse_header(frame[:HEADER_SIZE], prefix, max_payload)
    if len(frame) != data_length + FRAME_OVERHEAD:
        raise FrameError(f'frame of {len(frame)} bytes, but its header '
                         f'announces {data_length + FRAME_OVERHEAD}')
    payload = bytes(frame[HEADER_SIZE:HEADER_SIZE + data_length])
    (received,) = struct.unpack(prefix + 'I', frame[-TRAILER_SIZE:])
    _check_crc(payload, received, crc)
    return payload, received


class FrameDecoder:
    """Incremental frame decoder for a byte stream.

    Either fill the buffer returned by :meth:`want` in place (e.g. with
    ``sock.recv_into``) and report the count to :meth:`advance`, or hand it
    bytes with :meth:`feed`.  The 8-byte header is checked before anything
    else is allocated, and memory then grows with what arrives, never with
    what the header announces: a frame up to 64 KiB gets its exact buffer,
    a larger one is read in 64 KiB chunks appended to its body.  After a
    CrcMismatchError the stream is still in step; after any other
    FrameError it is not, and the decoder refuses further input.
    """

    def __init__(self, crc=False, endian=DEFAULT_ENDIAN,
                 max_payload=DEFAULT_MAX_PAYLOAD):
        self.crc = crc
        self.max_payload = max_payload
        self._prefix = struct_prefix(endian)
        self._broken = None
        self.last_crc = None          # CRC field of the last whole frame
        self._start()

    def _start(self):
        self._buf = bytearray(HEADER_SIZE)
        self._filled = 0
        self._data_length = None      # None while reading the header
        self._body = None             # large frames: the bytes so far

    @property
    def in_frame(self):
        """True when part of a frame has been received (EOF now = truncated)."""
        return self._filled > 0 or self._data_length is not None

    def want(self):
        """A writable view of (some of) the bytes still needed."""
        if self._broken:
            raise FrameError(f'stream is out of step after: {self._broken}')
        if self._body is not None:
            left = self._data_length + TRAILER_SIZE - len(self._body)
            return memoryview(self._buf)[:min(left, len(self._buf))]
        return memoryview(self._buf)[self._filled:]

    def advance(self, n):
        """Record *n* bytes written into :meth:`want`; return a payload or None."""
        if self._body is not None:
            self._body += memoryview(self._buf)[:n]
            if len(self._body) < self._data_length + TRAILER_SIZE:
                return None
            return self._complete(self._body)
        self._filled += n
        if self._filled < len(self._buf):
            return None
        if self._data_length is not None:
            return self._complete(self._buf)
        try:
            self._data_length = parse_header(self._buf, self._prefix,
                                             self.max_payload)
        except FrameError as exc:
            self._broken = exc
            raise
        need = self._data_length + TRAILER_SIZE
        self._buf = bytearray(min(need, _CHUNK))
        self._filled = 0
        if need > _CHUNK:
            self._body = bytearray()
        return None

    def _complete(self, body):
        n = self._data_length
        self._start()
        payload = bytes(memoryview(body)[:n])
        (received,) = struct.unpack(self._prefix + 'I', body[n:])
        self.last_crc = received
        _check_crc(payload, received, self.crc)
        return payload

    def feed(self, data):
        """Consume *data*; return the list of complete payloads it finished.

        A CRC mismatch raises at once; the frames after it in *data* are
        lost, so feed one read at a time if that matters.
        """
        data = memoryview(data).cast('B')
        out = []
        while data:
            with self.want() as view:
                k = min(len(view), len(data))
                view[:k] = data[:k]
            data = data[k:]
            payload = self.advance(k)
            if payload is not None:
                out.append(payload)
        return out


class Message:
    """npipes 1.0.1's ``Message``: builds and parses one frame.

    ``crc32`` is the value written in (or read from) the CRC field; like
    npipes, this class does not compute or verify it (``IPC`` does).
    Unlike npipes, ``read_msg`` rejects malformed frames with FrameError and
    undecodable text with DecodeError, and an unknown ``endian`` raises
    ValueError.
    """

    def __init__(self, data='', crc32=0, encoding=DEFAULT_ENCODING,
                 endian=DEFAULT_ENDIAN, max_payload=DEFAULT_MAX_PAYLOAD):
        self._prefix = struct_prefix(endian)
        self.__data = data
        self.__crc32 = crc32
        self.__encoding = encoding
        self.__endian = endian
        self.__max_payload = max_payload
        self.__message = None

    @property
    def message(self):
        """The frame bytes built by the last :meth:`encapsulate_msg`."""
        return self.__message

    @property
    def data(self):
        return self.__data

    @data.setter
    def data(self, new_data):
        self.__data = new_data

    @property
    def crc32(self):
        return self.__crc32

    @crc32.setter
    def crc32(self, crc):
        self.__crc32 = crc

    @property
    def encoding(self):
        return self.__encoding

    @property
    def endian(self):
        return self.__endian

    def encode(self, size: int) -> bytes:
        """Pack *size* as a 4-byte unsigned int in the configured order."""
        try:
            return struct.pack(self._prefix + 'I', size)
        except struct.error as exc:
            raise FrameError(f'{size!r} does not fit in a u32') from exc

    def decode(self, size_bytes: bytes) -> int:
        """Unpack a 4-byte unsigned int in the configured order."""
        if len(size_bytes) != 4:
            raise FrameError(f'a u32 needs 4 bytes, got {len(size_bytes)}')
        return struct.unpack(self._prefix + 'I', size_bytes)[0]

    def encapsulate_msg(self):
        """Build the frame for ``data``/``crc32``; store and return it."""
        payload = to_payload(self.__data, self.__encoding)
        _check_size(len(payload), self.__max_payload)
        self.__message = _pack_frame(payload, self.__crc32, self._prefix)
        return self.__message

    def read_msg(self, msg_bytes: bytes):
        """Parse one whole frame into ``data`` (text) and ``crc32``."""
        payload, received = decode_frame(msg_bytes, crc=False,
                                         endian=self.__endian,
                                         max_payload=self.__max_payload)
        self.__data = to_text(payload, self.__encoding)
        self.__crc32 = received
