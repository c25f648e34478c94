"""The descriptor frame of a message sent through shared memory, and the
sender's in-flight budget (docs/shared-memory.md §2 and §3.4; no I/O).

A descriptor frame is an npipes frame whose MessageLength is
``(DataLength + 8) XOR 0x80000000`` and whose 32 data bytes say where the
payload is: version, kind, length, the payload's CRC-32, the slot's
position in the ring and flags (kind 2, §8; zero for kind 1), or which
section to attach as the ring (kind 3, Windows, §9).  The decoder uses this module only on a connection with shared
memory on; the file itself travels beside the frame (the transport's
business: _unixshm.py).
"""

from __future__ import annotations

import struct
import zlib
from typing import Dict

from ._frames import layout
from .consts import HEADER_SIZE, MAX_U32
from .errors import SharedMemoryError

__all__ = ['Descriptor', 'DescriptorCodec', 'Budget', 'FLAG',
           'DESCRIPTOR_SIZE', 'VERSION', 'KIND_MEMFD', 'KIND_RING',
           'KIND_SECTION', 'RING_FILE', 'is_descriptor', 'check_carried']

#: XORed into MessageLength: a descriptor frame's header can never pass
#: as an ordinary one (§2).
FLAG = 0x80000000
#: DataLength of every descriptor frame.
DESCRIPTOR_SIZE = 32
VERSION = 1
#: The file is a Linux memfd, passed with SCM_RIGHTS beside the frame.
KIND_MEMFD = 1
#: A slot of the connection's ring (§8).
KIND_RING = 2
#: A Windows ring's section to attach (§9): length is its size, position
#: its handle's value in the sender's process; no payload.
KIND_SECTION = 3
#: Flags bit 0 (kind 2): the ring's file arrives with this frame.
RING_FILE = 1


def is_descriptor(message_length: int, data_length: int) -> bool:
    """Whether a header's two fields are those of a descriptor frame."""
    return message_length == ((data_length + HEADER_SIZE) & MAX_U32) ^ FLAG


class Descriptor(bytes):
    """A received descriptor frame's 32 data bytes, checked, as the decoder
    returns them (a bytes subclass: drivers tell it from a payload by its
    type); ``kind``, ``length``, ``crc``, ``position`` and ``flags`` are
    its fields."""

    kind: int
    length: int
    crc: int
    position: int
    flags: int


class DescriptorCodec:
    """Descriptor frames in one connection's byte order."""

    __slots__ = ('endian', '_data', '_header', '_field')

    _cache: Dict[str, struct.Struct] = {}

    def __init__(self, endian: str) -> None:
        self.endian = endian
        frame = layout(endian)
        self._header, self._field = frame.header, frame.field
        data = self._cache.get(frame.prefix)
        if data is None:
            data = struct.Struct(frame.prefix + 'IIQIQI')
            self._cache[frame.prefix] = data
        self._data = data

    def frame(self, length: int, payload_crc: int, crc: bool,
              kind: int = KIND_MEMFD, position: int = 0,
              flags: int = 0) -> bytes:
        """The whole descriptor frame of a payload of *length* bytes whose
        CRC-32 is *payload_crc* (0 when CRC is off); with *crc* the frame's
        CRC field covers the 32 descriptor bytes, as any frame's.  Kind 2
        (a ring slot) gives its *position* and *flags*."""
        data = self._data.pack(VERSION, kind, length,
                               payload_crc if crc else 0, position, flags)
        header = self._header.pack(
            (DESCRIPTOR_SIZE + HEADER_SIZE) ^ FLAG, DESCRIPTOR_SIZE)
        return header + data + self._field.pack(
            zlib.crc32(data) if crc else 0)

    def parse(self, data: bytes) -> Descriptor:
        """*data* (a descriptor frame's 32 bytes) checked: SharedMemoryError
        for another version, an unknown kind, or a position or flags that
        the kind does not allow."""
        version, kind, length, crc, position, flags = self._data.unpack(data)
        if version != VERSION:
            raise SharedMemoryError(
                f'shared-memory descriptor version {version} is not '
                f'supported (only {VERSION})')
        if kind == KIND_MEMFD:
            if position or flags:
                raise SharedMemoryError(
                    f'shared-memory descriptor of kind 1 has position '
                    f'{position} and flags 0x{flags:x} (both must be zero)')
        elif kind == KIND_SECTION:
            if flags:
                raise SharedMemoryError(
                    f'shared-memory descriptor of kind 3 has flags '
                    f'0x{flags:x} (they must be zero)')
        elif kind == KIND_RING:
            if flags & ~RING_FILE:
                raise SharedMemoryError(
                    f'shared-memory descriptor of kind 2 has flags '
                    f'0x{flags:x} (only bit 0 is defined)')
        else:
            raise SharedMemoryError(
                f'shared-memory descriptor kind {kind} is unknown (only '
                f'{KIND_MEMFD}: a sealed memfd, {KIND_RING}: a ring slot, '
                f'{KIND_SECTION}: a ring section)')
        if length == 0:
            raise SharedMemoryError(
                'shared-memory descriptor announces an empty payload (a '
                'zero-length payload never travels through shared memory)')
        found = Descriptor(data)
        found.kind, found.length, found.crc = kind, length, crc
        found.position, found.flags = position, flags
        return found


def check_carried(found: Descriptor, files: bool) -> None:
    """Refuse a kind the stream does not carry (§9): files (kind 1, kind 2
    with flags bit 0) only where *files* travel, a ring's own attach frame
    (kind 3) only where they do not."""
    kind = found.kind
    if not files and (kind == KIND_MEMFD or found.flags & RING_FILE):
        raise SharedMemoryError(
            'shared memory: a descriptor of kind 1 (a file of its own) '
            'on Windows, where only the ring is used: refused'
            if kind == KIND_MEMFD else
            'shared memory: a ring slot (kind 2) that carries its file '
            '(flags bit 0) on Windows, where the ring is a section '
            'announced by a frame of its own (kind 3): refused')
    if files and kind == KIND_SECTION:
        raise SharedMemoryError(
            'shared memory: a descriptor of kind 3 (a Windows ring section) '
            'on Linux, where the ring\'s file comes with its first slot: '
            'refused')


def wrong_size(data_length: int) -> SharedMemoryError:
    """The error of a descriptor frame header whose DataLength is not 32."""
    return SharedMemoryError(
        f'shared-memory descriptor frame has DataLength {data_length}, '
        f'not {DESCRIPTOR_SIZE}')


class Budget:
    """The bytes a sender has sent through shared memory since its socket's
    send queue was last seen empty (§3.4): a peer that stops reading pins
    at most ``limit`` plus one payload of the sender's memory."""

    __slots__ = ('limit', 'count')

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def fits(self, length: int) -> bool:
        """Whether *length* more bytes may go without waiting."""
        return self.count + length <= self.limit

    def emptied(self) -> None:
        """The send queue was seen empty: the peer holds every file sent."""
        self.count = 0

    def sent(self, length: int) -> None:
        """*length* bytes were sent through shared memory."""
        self.count += length
