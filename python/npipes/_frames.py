"""The npipes 1.0.1 frame layout, shared by the encoder and the decoder.

One frame is::

    MessageLength u32 (= DataLength + 8) | DataLength u32 | Data | CRC-32 u32

with all three integers in one byte order.  This module holds what both
directions need: the byte order's packed header and CRC field (compiled
once per byte order), the size limits, and the header check.
"""

from __future__ import annotations

import struct
import zlib
from typing import Dict, NamedTuple, Optional, Tuple

from .consts import ENDIANS, FRAME_OVERHEAD, HEADER_SIZE, MAX_U32
from ._hints import byte_order, shared_memory
from .errors import CrcMismatchError, FrameError, FrameTooLargeError

#: Largest payload the 32-bit MessageLength field can describe.
MAX_WIRE_PAYLOAD = MAX_U32 - HEADER_SIZE


class Layout(NamedTuple):
    """One byte order's frame integers, compiled once."""

    prefix: str                  # struct byte-order prefix ('>', '<', ...)
    header: struct.Struct        # MessageLength, DataLength
    field: struct.Struct         # one u32: the CRC field


_LAYOUTS: Dict[str, Layout] = {}


def struct_prefix(endian: str) -> str:
    """Return the struct byte-order prefix for an npipes ``endian`` value."""
    try:
        return ENDIANS[str(endian).lower()]
    except KeyError:
        raise ValueError(f'endian must be one of {", ".join(ENDIANS)}; '
                         f'got {endian!r}') from None


def layout(endian: str) -> Layout:
    """The compiled frame integers for *endian* (ValueError if unknown)."""
    prefix = struct_prefix(endian)
    found = _LAYOUTS.get(prefix)
    if found is None:
        found = Layout(prefix, struct.Struct(prefix + 'II'),
                       struct.Struct(prefix + 'I'))
        _LAYOUTS[prefix] = found
    return found


def crc32(payload: bytes | bytearray | memoryview, value: int = 0) -> int:
    """CRC-32 (IEEE 802.3, as zlib/PNG) of *payload*, continuing *value*."""
    return zlib.crc32(payload, value) & MAX_U32


def check_size(size: int, max_payload: Optional[int]) -> None:
    """FrameTooLargeError if a payload of *size* bytes is over the limit."""
    if size > MAX_WIRE_PAYLOAD or (max_payload is not None
                                   and size > max_payload):
        limit = MAX_WIRE_PAYLOAD if max_payload is None else max_payload
        raise FrameTooLargeError(
            f'payload of {size} bytes exceeds the maximum of {limit} bytes')


def check_header(message_length: int, data_length: int,
                 max_payload: Optional[int]) -> None:
    """FrameError unless the two header fields agree and fit the limit."""
    if message_length != data_length + HEADER_SIZE:
        why = shared_memory(message_length, data_length) or \
            ' (wrong byte order, or not an npipes frame?)'
        raise FrameError(f'bad frame header: MessageLength {message_length} '
                         f'!= DataLength {data_length} + 8{why}')
    try:
        check_size(data_length, max_payload)
    except FrameTooLargeError as exc:
        hint = byte_order(message_length, data_length, max_payload)
        if not hint:
            raise
        raise FrameTooLargeError(f'{exc}.{hint}') from None


def check_crc(received: int, computed: int) -> None:
    """CrcMismatchError if the CRC field differs from the payload's CRC."""
    if computed != received:
        raise CrcMismatchError(received, computed)


class FrameEncoder:
    """Frames for one connection's payloads: the header and CRC field in
    one byte order, and the frame of the last small size sent twice in a
    row packed in one call (a ping-pong's)."""

    __slots__ = ('layout', '_small_size', 'small')

    #: Sizes up to this are packed whole (one struct call).
    SMALL = 8 * 1024

    def __init__(self, endian: str) -> None:
        self.layout = layout(endian)
        self._small_size = -1
        #: The packed frame of the last small size (header, payload, CRC).
        self.small: Optional[struct.Struct] = None

    def ends(self, payload: bytes | bytearray, crc: bool) -> Tuple[bytes, bytes]:
        """The header and CRC field that frame *payload* (sent between
        them, the payload is never copied)."""
        size = len(payload)
        frame = self.layout
        return (frame.header.pack(size + HEADER_SIZE, size),
                frame.field.pack(zlib.crc32(payload) if crc else 0))

    def frame(self, payload: bytes | bytearray, crc: bool) -> bytes:
        """The whole frame of *payload*, joined."""
        size = len(payload)
        small = self.small
        if small is not None and small.size == size + FRAME_OVERHEAD:
            return small.pack(size + HEADER_SIZE, size, payload,
                              zlib.crc32(payload) if crc else 0)
        if size == self._small_size and size <= self.SMALL:
            self.small = struct.Struct(f'{self.layout.prefix}II{size}sI')
        self._small_size = size
        header, trailer = self.ends(payload, crc)
        return header + payload + trailer
