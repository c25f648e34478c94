"""The npipes 1.0.1 frame: pure encoding and decoding, no I/O.

One frame is::

    MessageLength u32 (= DataLength + 8) | DataLength u32 | Data | CRC-32 u32

with all three integers in one byte order (big endian by default, which is
what npipes 1.0.1 writes).  The CRC field is always present; it is 0 when
CRC is off and ``zlib.crc32(Data)`` when it is on.  The layout itself is in
_frames.py, the incremental decoder in _decoder.py (both re-exported here).
"""

from __future__ import annotations

import struct
from typing import Optional, Tuple, Union

from ._decoder import FrameDecoder
from ._frames import (Layout, check_crc, check_header, check_size, crc32,
                      layout, struct_prefix)
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     FRAME_OVERHEAD, HEADER_SIZE, TRAILER_SIZE)
from .errors import DecodeError, EncodeError, FrameError

__all__ = ['Message', 'FrameDecoder', 'crc32', 'struct_prefix',
           'encode_frame', 'frame_ends', 'decode_frame', 'parse_header',
           'to_payload', 'to_text']

#: What a payload may be given as: text (encoded strictly) or bytes-like.
Data = Union[str, bytes, bytearray, memoryview]
Buffer = Union[bytes, bytearray, memoryview]


def to_payload(data: Data, encoding: str = DEFAULT_ENCODING) -> bytes:
    """Encode *data* (str) strictly; bytes-like data is passed through."""
    if isinstance(data, str):
        try:
            return data.encode(encoding)
        except UnicodeEncodeError as exc:
            raise EncodeError(f'text is not valid {encoding}: {exc}') from exc
    return bytes(data)


def to_text(payload: Buffer, encoding: str = DEFAULT_ENCODING) -> str:
    """Decode *payload* strictly (a byte > 0x7F is an error for ASCII)."""
    try:
        return bytes(payload).decode(encoding)
    except UnicodeDecodeError as exc:
        raise DecodeError(f'payload is not valid {encoding}: {exc}') from exc


def _ends(size: int, crc_value: int, frame: Layout) -> Tuple[bytes, bytes]:
    try:
        trailer = frame.field.pack(crc_value)
    except struct.error as exc:
        raise FrameError(f'CRC value {crc_value!r} does not fit in a u32') \
            from exc
    return frame.header.pack(size + HEADER_SIZE, size), trailer


def frame_ends(payload: Buffer, crc: bool = False,
               endian: str = DEFAULT_ENDIAN,
               max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD
               ) -> Tuple[bytes, bytes]:
    """The header and CRC field that frame *payload* (sent between them,
    e.g. by one gathering write, the payload is never copied)."""
    frame = layout(endian)
    with memoryview(payload) as view:
        check_size(view.nbytes, max_payload)
        return _ends(view.nbytes, crc32(view) if crc else 0, frame)


def encode_frame(payload: Buffer, crc: bool = False,
                 endian: str = DEFAULT_ENDIAN,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD) -> bytes:
    """Return the frame for *payload* bytes (CRC field 0 unless *crc*)."""
    payload = bytes(payload)
    header, trailer = frame_ends(payload, crc, endian, max_payload)
    return b''.join((header, payload, trailer))


def parse_header(header: Buffer, prefix: str,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD) -> int:
    """Check an 8-byte header and return DataLength (before any allocation)."""
    if len(header) != HEADER_SIZE:
        raise FrameError(f'frame header must be {HEADER_SIZE} bytes, '
                         f'got {len(header)}')
    message_length, data_length = struct.unpack(prefix + 'II', header)
    check_header(message_length, data_length, max_payload)
    return int(data_length)


def decode_frame(frame: Buffer, crc: bool = False,
                 endian: str = DEFAULT_ENDIAN,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD
                 ) -> Tuple[bytes, int]:
    """Decode one complete frame; return ``(payload, crc_field)``.

    Raises FrameError if *frame* is not exactly one frame, and
    CrcMismatchError if *crc* is on and the CRC does not match.
    """
    view = memoryview(frame).cast('B')
    prefix = struct_prefix(endian)
    data_length = parse_header(view[:HEADER_SIZE], prefix, max_payload)
    if len(view) != data_length + FRAME_OVERHEAD:
        raise FrameError(f'frame of {len(view)} bytes, but its header '
                         f'announces {data_length + FRAME_OVERHEAD}')
    payload = bytes(view[HEADER_SIZE:HEADER_SIZE + data_length])
    (received,) = struct.unpack(prefix + 'I', view[-TRAILER_SIZE:])
    if crc:
        check_crc(received, crc32(payload))
    return payload, int(received)


class Message:
    """npipes 1.0.1's ``Message``: builds and parses one frame.

    ``crc32`` is the value written in (or read from) the CRC field; like
    npipes, this class does not compute or verify it (``IPC`` does).
    Unlike npipes, ``read_msg`` rejects malformed frames with FrameError and
    undecodable text with DecodeError, and an unknown ``endian`` raises
    ValueError.
    """

    def __init__(self, data: Data = '', crc32: int = 0,
                 encoding: str = DEFAULT_ENCODING,
                 endian: str = DEFAULT_ENDIAN,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD) -> None:
        self._layout = layout(endian)
        self._prefix = self._layout.prefix
        self.__data = data
        self.__crc32 = crc32
        self.__encoding = encoding
        self.__endian = endian
        self.__max_payload = max_payload
        self.__message: Optional[bytes] = None

    @property
    def message(self) -> Optional[bytes]:
        """The frame bytes built by the last :meth:`encapsulate_msg`."""
        return self.__message

    @property
    def data(self) -> Data:
        return self.__data

    @data.setter
    def data(self, new_data: Data) -> None:
        self.__data = new_data

    @property
    def crc32(self) -> int:
        return self.__crc32

    @crc32.setter
    def crc32(self, crc: int) -> None:
        self.__crc32 = crc

    @property
    def encoding(self) -> str:
        return self.__encoding

    @property
    def endian(self) -> str:
        return self.__endian

    def encode(self, size: int) -> bytes:
        """Pack *size* as a 4-byte unsigned int in the configured order."""
        try:
            return self._layout.field.pack(size)
        except struct.error as exc:
            raise FrameError(f'{size!r} does not fit in a u32') from exc

    def decode(self, size_bytes: bytes) -> int:
        """Unpack a 4-byte unsigned int in the configured order."""
        if len(size_bytes) != 4:
            raise FrameError(f'a u32 needs 4 bytes, got {len(size_bytes)}')
        return int(self._layout.field.unpack(size_bytes)[0])

    def encapsulate_msg(self) -> bytes:
        """Build the frame for ``data``/``crc32``; store and return it."""
        payload = to_payload(self.__data, self.__encoding)
        check_size(len(payload), self.__max_payload)
        header, trailer = _ends(len(payload), self.__crc32, self._layout)
        self.__message = b''.join((header, payload, trailer))
        return self.__message

    def read_msg(self, msg_bytes: Buffer) -> None:
        """Parse one whole frame into ``data`` (text) and ``crc32``."""
        payload, received = decode_frame(msg_bytes, crc=False,
                                         endian=self.__endian,
                                         max_payload=self.__max_payload)
        self.__data = to_text(payload, self.__encoding)
        self.__crc32 = received
