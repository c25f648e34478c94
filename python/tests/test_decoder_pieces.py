"""FrameDecoder: read-ahead, large payloads received into pieces, and the
memory those may take (never more than twice what arrived, plus the first
piece; at most RETAIN kept between frames)."""

import gc
import random
import struct
import tracemalloc
import unittest
import zlib

from tests import support  # noqa: F401  (puts npipes on sys.path)
from npipes import _decoder
from npipes.errors import CrcMismatchError, FrameError, FrameTooLargeError
from npipes.message import FrameDecoder, encode_frame

KiB, MiB = 1024, 1024 * 1024
BUF, FIRST = _decoder.BUFFER_SIZE, _decoder.FIRST_PIECE

#: Payload sizes around every boundary the decoder has: the stream buffer
#: (a frame of BUF bytes is the largest that fits it whole), the first
#: piece, the doubling pieces, and RETAIN.
SIZES = [0, 1, 16, BUF - 13, BUF - 12, BUF - 11, BUF - 4, BUF, BUF + 1,
         FIRST - 1, FIRST, FIRST + 1, 2 * FIRST + 1, 4 * FIRST + 7,
         MiB - 1, MiB, MiB + 1, 3 * MiB + 5]


def payload_of(size, seed):
    rnd = random.Random(seed)
    return rnd.randbytes(size) if hasattr(rnd, 'randbytes') else \
        bytes(rnd.getrandbits(8) for _ in range(size))


def drive(decoder, data, reads):
    """Deliver *data* as a socket would: each read fills want() with at most
    the next length from *reads* (cycled); return every payload."""
    view, out, i = memoryview(data), [], 0
    while True:
        payload = decoder.take()
        while payload is not None:
            out.append(payload)
            payload = decoder.take()
        if not view:
            return out
        room = decoder.want()
        k = min(len(room), len(view), reads[i % len(reads)])
        i += 1
        room[:k] = view[:k]
        view = view[k:]
        payload = decoder.advance(k)
        if payload is not None:
            out.append(payload)


class OddChunkTests(unittest.TestCase):

    def check(self, sizes, reads):
        payloads = [payload_of(n, n) for n in sizes]
        stream = b''.join(encode_frame(p, crc=True) for p in payloads)
        for read_ahead in (True, False):
            with self.subTest(read_ahead=read_ahead, reads=reads):
                dec = FrameDecoder(crc=True, read_ahead=read_ahead,
                                   max_payload=None)
                got = drive(dec, stream, reads)
                self.assertEqual([len(p) for p in got], sizes)
                self.assertTrue(got == payloads, 'payload bytes differ')
                self.assertTrue(all(type(p) is bytes for p in got))
                self.assertFalse(dec.in_frame)
                self.assertEqual(dec.last_crc, zlib.crc32(payloads[-1]))

    def test_every_boundary_in_odd_reads(self):
        for reads in ([4093], [65535, 3], [200_000, 1], [10 * MiB]):
            self.check(SIZES, reads)

    def test_small_and_medium_frames_in_tiny_reads(self):
        small = [n for n in SIZES if n <= 2 * FIRST + 1]
        for reads in ([1], [7, 3, 1]):
            self.check(small, reads)

    def test_without_read_ahead_one_frame_at_a_time(self):
        frames = encode_frame(b'one') + encode_frame(b'two')
        dec = FrameDecoder()
        room = dec.want()
        self.assertEqual(len(room), 8)           # the header, no more
        room[:] = frames[:8]
        self.assertIsNone(dec.advance(8))
        self.assertEqual(len(dec.want()), 3 + 4)  # data + CRC field
        ahead = FrameDecoder(read_ahead=True)
        room = ahead.want()
        self.assertEqual(len(room), BUF)
        room[:len(frames)] = frames
        self.assertEqual(ahead.advance(len(frames)), b'one')
        self.assertEqual(ahead.take(), b'two')
        self.assertIsNone(ahead.take())

    def test_crc_mismatch_in_a_large_frame_keeps_the_stream_in_step(self):
        big = payload_of(MiB + 3, 1)
        bad = bytearray(encode_frame(big, crc=True))
        bad[8 + 700_000] ^= 0x01
        for reads in ([65536], [3, 100_000]):
            with self.subTest(reads=reads):
                dec = FrameDecoder(crc=True, read_ahead=True,
                                   max_payload=None)
                with self.assertRaises(CrcMismatchError) as cm:
                    drive(dec, bytes(bad), reads)
                self.assertEqual(cm.exception.received, zlib.crc32(big))
                self.assertFalse(dec.in_frame)
                self.assertEqual(
                    drive(dec, encode_frame(b'after', crc=True), reads),
                    [b'after'])

    def test_crc_switched_on_mid_frame_still_checks(self):
        big = payload_of(FIRST * 3, 2)
        frame = bytearray(encode_frame(big, crc=True))
        dec = FrameDecoder(crc=False, read_ahead=True)
        self.assertEqual(dec.feed(frame[:FIRST]), [])
        dec.crc = True
        frame[-1] ^= 0xFF
        with self.assertRaises(CrcMismatchError):
            dec.feed(frame[FIRST:])

    def test_bad_header_after_read_ahead_breaks_the_stream(self):
        good = encode_frame(b'ok')
        bad = struct.pack('>II', 99, 5) + b'hello' + b'\0' * 4
        dec = FrameDecoder(read_ahead=True)
        room = dec.want()
        room[:len(good + bad)] = good + bad
        self.assertEqual(dec.advance(len(good + bad)), b'ok')
        with self.assertRaisesRegex(FrameError, 'MessageLength 99'):
            dec.take()
        with self.assertRaises(FrameError):
            dec.want()


class PieceMemoryTests(unittest.TestCase):

    def setUp(self):
        gc.collect()
        tracemalloc.start()
        self.addCleanup(tracemalloc.stop)

    def grown(self, since):
        return tracemalloc.get_traced_memory()[0] - since

    def test_memory_follows_the_bytes_that_arrived(self):
        size = 16 * MiB
        header = struct.pack('>II', size + 8, size)
        dec = FrameDecoder(read_ahead=True)
        base = tracemalloc.get_traced_memory()[0]
        self.assertEqual(dec.feed(header), [])
        self.assertLess(self.grown(base), FIRST + 4 * KiB)
        chunk, arrived = b'z' * (64 * KiB + 1), 0
        while arrived < 5 * MiB:
            dec.feed(chunk)
            arrived += len(chunk)
            # pieces so far: at most twice what arrived, plus the first
            self.assertLessEqual(self.grown(base),
                                 2 * arrived + FIRST + 64 * KiB,
                                 f'after {arrived} bytes')
        with self.assertRaises(FrameTooLargeError):
            FrameDecoder(max_payload=MiB).feed(
                struct.pack('>II', MiB + 9, MiB + 1))

    def test_pieces_are_kept_up_to_retain_and_reused(self):
        dec = FrameDecoder(crc=True, read_ahead=True, max_payload=None)
        one = encode_frame(payload_of(MiB, 3), crc=True)
        self.assertEqual(len(dec.feed(one)[0]), MiB)
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        got = dec.feed(one)
        # only the returned payload is new: the pieces were reused
        self.assertLess(self.grown(base), MiB + 64 * KiB)
        del got
        big = encode_frame(payload_of(4 * MiB, 4), crc=True)
        self.assertEqual(len(dec.feed(big)[0]), 4 * MiB)
        gc.collect()
        kept = sum(len(p) for p in dec._pieces._kept)
        self.assertLessEqual(kept, _decoder.RETAIN)
        self.assertGreaterEqual(kept, MiB)      # the 1 MiB ones stay


if __name__ == '__main__':
    unittest.main()
