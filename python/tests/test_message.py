"""Frames: the npipes 1.0.1 vectors (tests/vectors), and every frame error."""

import struct
import unittest
import zlib

from tests import support  # noqa: F401  (puts npipes on sys.path)
from npipes import consts
from npipes.errors import (CrcMismatchError, DecodeError, EncodeError,
                           FrameError, FrameTooLargeError)
from npipes.message import (FrameDecoder, Message, crc32, decode_frame,
                            encode_frame)


class VectorTests(unittest.TestCase):
    """Message must produce and read npipes 1.0.1's frames byte for byte."""

    @classmethod
    def setUpClass(cls):
        cls.cases = support.load_vectors()

    def test_vectors_present(self):
        self.assertGreaterEqual(len(self.cases), 8)

    def test_repo_copy_equals_the_shared_reference(self):
        reference = support.shared_vectors()
        if reference is None:
            self.skipTest('no reference copy to cross-check: ../shared/vectors '
                          'is absent beside the repo and NPIPES_SHARED unset')
        self.assertEqual(support.VECTORS.read_bytes(), reference.read_bytes(),
                         f'{support.VECTORS} differs from {reference}: copy '
                         'the reference into the repository')

    def test_encapsulate_matches_vectors(self):
        for case in self.cases:
            with self.subTest(case['name']):
                payload = case['text'].encode(case['encoding'])
                msg = Message(case['text'], crc32(payload) if case['crc'] else 0,
                              encoding=case['encoding'], endian=case['endian'])
                msg.encapsulate_msg()
                self.assertEqual(msg.message.hex(), case['frame_hex'])
                self.assertEqual(
                    encode_frame(payload, crc=case['crc'],
                                 endian=case['endian']).hex(),
                    case['frame_hex'])

    def test_read_msg_matches_vectors(self):
        for case in self.cases:
            with self.subTest(case['name']):
                frame = bytes.fromhex(case['frame_hex'])
                msg = Message(encoding=case['encoding'], endian=case['endian'])
                msg.read_msg(frame)
                self.assertEqual(msg.data, case['text'])
                payload = case['text'].encode(case['encoding'])
                self.assertEqual(msg.crc32, zlib.crc32(payload) if case['crc'] else 0)
                # and the checked decoder accepts them with CRC on when set
                got, _ = decode_frame(frame, crc=case['crc'], endian=case['endian'])
                self.assertEqual(got, payload)

    def test_incremental_decoder_byte_by_byte(self):
        for case in self.cases:
            with self.subTest(case['name']):
                frame = bytes.fromhex(case['frame_hex'])
                dec = FrameDecoder(crc=case['crc'], endian=case['endian'])
                out = []
                for i in range(len(frame)):
                    out += dec.feed(frame[i:i + 1])
                self.assertEqual(out, [case['text'].encode(case['encoding'])])
                self.assertFalse(dec.in_frame)


class MessageApiTests(unittest.TestCase):

    def test_hello_crc_constant(self):
        self.assertEqual(crc32(b'Hello'), 0xF7D18982)

    def test_encode_decode_all_endians(self):
        for endian, packed in (('big', b'\x00\x00\x01\x02'),
                               ('network', b'\x00\x00\x01\x02'),
                               ('little', b'\x02\x01\x00\x00'),
                               ('BIG', b'\x00\x00\x01\x02'),
                               ('native', struct.pack('=I', 258))):
            with self.subTest(endian):
                m = Message(endian=endian)
                self.assertEqual(m.encode(258), packed)
                self.assertEqual(m.decode(packed), 258)

    def test_defaults_are_npipes_defaults(self):
        m = Message()
        self.assertEqual((m.data, m.crc32, m.encoding, m.endian, m.message),
                         ('', 0, 'ascii', 'big', None))
        self.assertEqual(consts.IPC_FIFO_NAME, 'IPC_PIPE_DEFAULT')
        self.assertEqual(consts.PIPE_NAME, 'IPC_PIPE_DEFAULT')
        self.assertEqual(consts.BUFFER_SIZE, 65536)

    def test_unknown_endian_rejected(self):
        with self.assertRaises(ValueError):
            Message(endian='middle')

    def test_properties_settable(self):
        m = Message()
        m.data, m.crc32 = 'abc', 7
        m.encapsulate_msg()
        self.assertEqual(m.message, bytes.fromhex('0000000b00000003616263'
                                                  '00000007'))

    def test_decode_needs_four_bytes(self):
        with self.assertRaises(FrameError):
            Message().decode(b'\x00\x01')

    def test_encode_out_of_range(self):
        with self.assertRaises(FrameError):
            Message().encode(2 ** 32)


class FrameErrorTests(unittest.TestCase):

    def test_length_mismatch(self):
        bad = struct.pack('>II', 99, 5) + b'Hello' + b'\0' * 4
        with self.assertRaisesRegex(FrameError, 'MessageLength 99'):
            Message().read_msg(bad)
        with self.assertRaises(FrameError):
            FrameDecoder().feed(bad)

    def test_wrong_byte_order_is_a_frame_error(self):
        frame = encode_frame(b'Hello', endian='little')
        with self.assertRaises(FrameError):
            decode_frame(frame, endian='big')

    def test_truncated_and_trailing_bytes(self):
        frame = encode_frame(b'Hello')
        for bad in (frame[:-1], frame + b'x', frame[:5]):
            with self.subTest(len(bad)), self.assertRaises(FrameError):
                decode_frame(bad)

    def test_too_large_checked_from_header(self):
        # A header announcing 4 GiB must fail at once, before allocation.
        header = struct.pack('>II', 0xFFFFFFFF, 0xFFFFFFF7)
        dec = FrameDecoder()
        with self.assertRaises(FrameTooLargeError):
            dec.feed(header)
        with self.assertRaises(FrameError):        # and stays broken
            dec.feed(b'x')
        small = FrameDecoder(max_payload=4)
        with self.assertRaises(FrameTooLargeError):
            small.feed(encode_frame(b'Hello', max_payload=None))
        self.assertTrue(issubclass(FrameTooLargeError, FrameError))

    def test_too_large_on_send(self):
        with self.assertRaises(FrameTooLargeError):
            encode_frame(b'x' * 11, max_payload=10)
        with self.assertRaises(FrameTooLargeError):
            Message('x' * 11, max_payload=10).encapsulate_msg()

    def test_crc_mismatch(self):
        frame = bytearray(encode_frame(b'Hello', crc=True))
        frame[9] ^= 0x20                       # corrupt the payload
        with self.assertRaises(CrcMismatchError) as cm:
            decode_frame(bytes(frame), crc=True)
        self.assertEqual(cm.exception.received, 0xF7D18982)
        import pickle
        again = pickle.loads(pickle.dumps(cm.exception))
        self.assertEqual((again.received, str(again)),
                         (0xF7D18982, str(cm.exception)))
        # with CRC off the field is not checked (npipes semantics)
        self.assertEqual(decode_frame(bytes(frame))[0], b'HEllo')

    def test_decoder_continues_after_crc_mismatch(self):
        bad = bytearray(encode_frame(b'one', crc=True))
        bad[-1] ^= 1
        good = encode_frame(b'two', crc=True)
        dec = FrameDecoder(crc=True)
        with self.assertRaises(CrcMismatchError):
            dec.feed(bytes(bad))
        self.assertEqual(dec.feed(good), [b'two'])

    def test_decode_error_strict_ascii(self):
        frame = encode_frame(b'caf\xe9')
        with self.assertRaises(DecodeError):
            Message().read_msg(frame)
        self.assertTrue(issubclass(DecodeError, ValueError))
        m = Message(encoding='latin-1')
        m.read_msg(frame)
        self.assertEqual(m.data, 'café')

    def test_encode_error(self):
        with self.assertRaises(EncodeError):
            Message('café').encapsulate_msg()

    def test_many_frames_in_one_feed(self):
        blob = b''.join(encode_frame(bytes([i]) * i, crc=True) for i in range(50))
        self.assertEqual(FrameDecoder(crc=True).feed(blob),
                         [bytes([i]) * i for i in range(50)])


class ErrorHierarchyTests(unittest.TestCase):

    def test_every_error_is_an_npipes_error(self):
        from npipes import errors
        names = ['PipeTimeoutError', 'PipeNameError', 'PipeNameInUseError',
                 'PipePathOccupiedError', 'PipeAccessError', 'PipeOSError',
                 'FrameError', 'FrameTooLargeError', 'IncompleteFrameError',
                 'ConnectionClosedError', 'CrcMismatchError', 'EncodingError',
                 'DecodeError', 'EncodeError']
        for name in names:
            with self.subTest(name):
                self.assertTrue(issubclass(getattr(errors, name),
                                           errors.NPipesError))
        for sub, base in (('PipeTimeoutError', TimeoutError),
                          ('PipeNameError', ValueError),
                          ('ConnectionClosedError', EOFError),
                          ('FrameTooLargeError', errors.FrameError),
                          ('IncompleteFrameError', errors.FrameError),
                          ('CrcMismatchError', errors.FrameError),  # as .NET
                          ('EncodingError', errors.FrameError),     # as .NET
                          ('EncodingError', ValueError),
                          ('PipeAccessError', PermissionError),
                          ('PipeOSError', OSError),
                          ('DecodeError', ValueError)):
            with self.subTest(sub):
                self.assertTrue(issubclass(getattr(errors, sub), base))


    def test_errors_survive_pickling(self):
        import pickle
        from npipes import errors
        for exc in (errors.CrcMismatchError(1, 2),
                    errors.PipePathOccupiedError('/tmp/x', 'FIFO'),
                    errors.PipeAccessError('no', path='/tmp/x', uid=7),
                    errors.PipeOSError(20, 'Not a directory', '/tmp/f'),
                    errors.ConnectionClosedError('gone', reason='idle timeout')):
            with self.subTest(type(exc).__name__):
                back = pickle.loads(pickle.dumps(exc))
                self.assertEqual((type(back), str(back), vars(back)),
                                 (type(exc), str(exc), vars(exc)))


if __name__ == '__main__':
    unittest.main()
