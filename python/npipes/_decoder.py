"""FrameDecoder: npipes frames out of a byte stream, incrementally.

Memory follows the bytes that arrived, never the length a header announces:
a small buffer holds headers, CRC fields and small frames; a larger payload
is received straight into pieces of memory (the first 64 KiB, then each as
large as all before it, so at most twice what arrived), each piece hashed
as soon as it is full (still in cache; hashing every read was measured
slower: reads are often small), and the pieces joined once at the end into
the returned bytes.  Up to 1 MiB of pieces is kept for the next large
payload: fresh memory costs a page fault per 4 KiB on first touch, which
was measured to cost more than the copy itself.
"""

from __future__ import annotations

import zlib
from typing import Callable, List, Optional

from ._frames import check_crc, check_header, layout
from ._shmframe import (DESCRIPTOR_SIZE, DescriptorCodec, is_descriptor,
                        wrong_size)
from .consts import (DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD, HEADER_SIZE,
                     TRAILER_SIZE)
from .errors import FrameError

__all__ = ['FrameDecoder']

#: The stream buffer: headers, CRC fields and whole frames up to this size
#: (with read-ahead, several of them per read).  As io.DEFAULT_BUFFER_SIZE.
BUFFER_SIZE = 8 * 1024
#: The first piece of a payload too large for the buffer; each next piece is
#: as large as the payload bytes received so far (and no larger than needed).
FIRST_PIECE = 64 * 1024
#: Pieces kept for the next large payload (64 + 64 + 128 + 256 + 512 KiB).
RETAIN = 1024 * 1024


class _Pieces:
    """One large payload at a time, received straight into pieces."""

    def __init__(self) -> None:
        self._kept: List[bytearray] = []     # reused by every payload
        self._done: List[memoryview] = []    # this payload's full pieces
        self._piece = memoryview(b'')        # the piece being filled
        self._filled = 0                     # ... and how much of it is
        self.got = 0
        self.left = 0
        self.running: Optional[int] = None   # CRC so far (None: not hashed)

    def start(self, size: int, head: memoryview, hash_it: bool) -> None:
        """Begin a payload of *size* bytes whose start *head* arrived."""
        self._done, self.got, self.left = [], 0, size
        self.running = 0 if hash_it else None
        self._next_piece()
        self._piece[:len(head)] = head
        self.grew(len(head))

    @property
    def room(self) -> memoryview:
        """Where the next bytes of the payload go."""
        return self._piece[self._filled:]

    def _next_piece(self) -> None:
        need = min(self.left, self.got or FIRST_PIECE)
        i = len(self._done)
        if i < len(self._kept) and len(self._kept[i]) >= need:
            piece = self._kept[i]
        else:
            piece = bytearray(need)
            self._kept[i:i + 1] = [piece]
        self._piece, self._filled = memoryview(piece)[:need], 0

    def grew(self, n: int) -> None:
        """*n* more bytes were written at the start of :attr:`room`."""
        self._filled += n
        self.got += n
        self.left -= n
        if self._filled == len(self._piece):
            if self.running is not None:
                self.running = zlib.crc32(self._piece, self.running)
            self._done.append(self._piece)
            if self.left:
                self._next_piece()

    def payload(self) -> bytes:
        """The whole payload (one copy); keep up to RETAIN bytes of pieces."""
        done, self._done = self._done, []
        payload = bytes(done[0]) if len(done) == 1 else b''.join(done)
        kept, total = 0, 0
        while kept < len(self._kept) and \
                total + len(self._kept[kept]) <= RETAIN:
            total += len(self._kept[kept])
            kept += 1
        del self._kept[kept:]
        return payload


class FrameDecoder:
    """Incremental frame decoder for a byte stream.

    Either fill the buffer returned by :meth:`want` in place (e.g. with
    ``sock.recv_into``) and report the count to :meth:`advance`, or hand it
    bytes with :meth:`feed`.  The 8-byte header is checked before anything
    else is allocated.  After a CrcMismatchError the stream is still in
    step; after any other FrameError it is not, and the decoder refuses
    further input.

    With ``read_ahead=True`` :meth:`want` may ask for more than the current
    frame (one read can then bring several small frames): after
    :meth:`advance` returns a payload, call :meth:`take` until it returns
    None before reading again.  Without it (the default) the decoder never
    holds bytes of more than one frame, and :meth:`take` always returns
    None after :meth:`advance`.

    With ``descriptors=True`` (a connection with shared memory on;
    docs/shared-memory.md §2) a descriptor frame is returned as a checked
    ``Descriptor`` (_shmframe.py; a bytes subclass) instead of
    being refused; its file is the caller's business.
    """

    def __init__(self, crc: bool = False, endian: str = DEFAULT_ENDIAN,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD, *,
                 read_ahead: bool = False, descriptors: bool = False) -> None:
        self.crc = crc
        self.max_payload = max_payload
        self.last_crc: Optional[int] = None   # CRC field of the last frame
        frame = layout(endian)
        self._header = frame.header
        self._field = frame.field
        self._read_ahead = read_ahead
        self._broken: Optional[FrameError] = None
        self._buf = bytearray(BUFFER_SIZE)
        self._view = memoryview(self._buf)
        self._lo = 0                  # _buf[_lo:_hi] arrived, not yet used
        self._hi = 0
        self._size: Optional[int] = None      # DataLength, once checked
        self._large = False                   # payload goes to _pieces
        self._pieces = _Pieces()
        self._codec = DescriptorCodec(endian) if descriptors else None
        self._descriptor = False              # the frame is a descriptor

    @property
    def in_frame(self) -> bool:
        """True when part of a frame has been received (EOF now = truncated)."""
        return self._hi > self._lo or self._size is not None

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise FrameError(f'stream is out of step after: {self._broken}')

    def want(self) -> memoryview:
        """A writable view of (some of) the bytes still needed."""
        if self._broken is not None:
            self._check_usable()
        if self._pieces.left:
            return self._pieces.room
        lo, hi = self._lo, self._hi
        if lo:                        # move the unused bytes to the front
            hi -= lo
            self._buf[:hi] = self._buf[lo:self._hi]
            self._lo, self._hi = 0, hi
        if self._read_ahead:
            return self._view[hi:]
        if self._size is None:
            return self._view[hi:HEADER_SIZE]
        rest = TRAILER_SIZE if self._large else self._size + TRAILER_SIZE
        return self._view[hi:rest]

    def advance(self, n: int) -> Optional[bytes]:
        """Record *n* bytes written into :meth:`want`; return a payload or
        None (see :meth:`take` for more frames that *n* bytes completed)."""
        if self._pieces.left:
            self._pieces.grew(n)
        else:
            self._hi += n
        return self.take()

    def take(self) -> Optional[bytes]:
        """The next payload already received in full, or None."""
        if self._broken is not None:
            self._check_usable()
        lo = self._lo
        avail = self._hi - lo
        size = self._size
        if size is None:
            if avail < HEADER_SIZE:
                return None
            message_length, size = self._header.unpack_from(self._buf, lo)
            limit = self.max_payload
            if message_length != size + HEADER_SIZE or \
                    (limit is not None and size > limit):
                if self._codec is None or \
                        not is_descriptor(message_length, size):
                    self._refuse(message_length, size)
                if size != DESCRIPTOR_SIZE:
                    self._broken = wrong_size(size)
                    raise self._broken
                self._descriptor = True
            lo += HEADER_SIZE
            avail -= HEADER_SIZE
            self._size, self._lo = size, lo
            if size + TRAILER_SIZE > BUFFER_SIZE:
                # the buffered start of the payload (never all of it)
                k = min(avail, size)
                self._large, self._lo = True, lo + k
                self._pieces.start(size, self._view[lo:lo + k], self.crc)
                return None
        elif self._large:
            if self._pieces.left or avail < TRAILER_SIZE:
                return None
            return self._finish_large()
        if avail < size + TRAILER_SIZE:
            return None
        end = lo + size
        payload = bytes(self._view[lo:end])
        (received,) = self._field.unpack_from(self._buf, end)
        self.last_crc, self._size = received, None
        end += TRAILER_SIZE
        if end == self._hi:
            self._lo = self._hi = 0
        else:
            self._lo = end
        if self.crc and zlib.crc32(payload) != received:
            self._descriptor = False
            check_crc(received, zlib.crc32(payload))
        if self._descriptor:
            return self._described(payload)
        return payload

    def _described(self, data: bytes) -> bytes:
        """The checked Descriptor of a descriptor frame's *data*."""
        assert self._codec is not None
        self._descriptor = False
        try:
            return self._codec.parse(data)
        except FrameError as exc:
            self._broken = exc
            raise

    def receive(self, recv_into: Callable[[memoryview], int]
                ) -> Optional[bytes]:
        """Read with *recv_into* (a blocking socket's) until a payload is
        complete and return it; None at EOF (:attr:`in_frame` then says
        whether a frame was cut short).  The want/advance/take loop in one
        call, and a frame that arrives alone into the empty buffer (a
        ping-pong's) decoded on the spot."""
        while True:
            if self._hi or self._size is not None or not self._read_ahead \
                    or self._broken is not None:
                payload = self.take()      # bytes read ahead, or a refusal
                if payload is not None:
                    return payload
                n = recv_into(self.want())
                if not n:
                    return None
                payload = self.advance(n)
                if payload is not None:
                    return payload
                continue
            n = recv_into(self._view)  # nothing buffered: read what came
            if not n:
                return None
            self._hi = n
            if n >= HEADER_SIZE + TRAILER_SIZE:
                message_length, size = self._header.unpack_from(self._buf)
                end = size + HEADER_SIZE
                limit = self.max_payload
                if message_length == end and end + TRAILER_SIZE == n and \
                        (limit is None or size <= limit):
                    payload = self._view[HEADER_SIZE:end].tobytes()
                    (received,) = self._field.unpack_from(self._buf, end)
                    self.last_crc, self._hi = received, 0
                    if self.crc and zlib.crc32(payload) != received:
                        check_crc(received, zlib.crc32(payload))
                    return payload

    def _refuse(self, message_length: int, size: int) -> None:
        """Raise the FrameError for a bad header; the stream is lost."""
        try:
            check_header(message_length, size, self.max_payload)
        except FrameError as exc:
            self._broken = exc
            raise
        raise AssertionError('a refused header passed its check')

    def _finish_large(self) -> bytes:
        running = self._pieces.running
        payload = self._pieces.payload()
        (received,) = self._field.unpack_from(self._buf, self._lo)
        self._end_frame(self._lo + TRAILER_SIZE, received)
        if self.crc:
            check_crc(received, zlib.crc32(payload) if running is None
                      else running)
        return payload

    def _end_frame(self, end: int, received: int) -> None:
        self.last_crc = received
        self._size, self._large = None, False
        if end == self._hi:
            self._lo = self._hi = 0
        else:
            self._lo = end

    def feed(self, data: bytes | bytearray | memoryview) -> List[bytes]:
        """Consume *data*; return the list of complete payloads it finished.

        A CRC mismatch raises at once; the frames after it in *data* may be
        lost, so feed one read at a time if that matters.
        """
        view = memoryview(data).cast('B')
        out: List[bytes] = []
        while True:
            payload = self.take()
            while payload is not None:
                out.append(payload)
                payload = self.take()
            if not view:
                return out
            room = self.want()
            k = min(len(room), len(view))
            room[:k] = view[:k]
            view = view[k:]
            payload = self.advance(k)
            if payload is not None:
                out.append(payload)
