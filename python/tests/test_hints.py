"""A frame read in the wrong byte order says so (npipes._hints, the rule of
.NET's MismatchHint); other bad headers do not."""

import unittest

from tests import support  # noqa: F401  (puts the package on the path)
from npipes._frames import check_header
from npipes._hints import BYTE_ORDER_QUESTION, byte_order
from npipes.errors import FrameTooLargeError

LIMIT = 16 * 1024 * 1024


class ByteOrderHintTests(unittest.TestCase):
    def test_a_little_endian_header_read_as_big_endian_is_recognised(self):
        # 'hello' framed little endian, read big endian: 13 -> 218103808
        self.assertEqual(byte_order(0x0D000000, 0x05000000, LIMIT),
                         ' ' + BYTE_ORDER_QUESTION)
        self.assertEqual(byte_order(0x0D000000, None, LIMIT),
                         ' ' + BYTE_ORDER_QUESTION)

    def test_garbage_gets_no_hint(self):
        self.assertEqual(byte_order(0xFFFFFFFF, 0xFFFFFFFF, LIMIT), '')
        self.assertEqual(byte_order(0x0D000000, 0x07000000, LIMIT), '')

    def test_a_consistent_header_over_the_limit_asks_only_if_swapping_fits(self):
        # a consistent 65,536-byte payload over a 1 KiB limit; swapped
        # (0x08000100 / 0x00000100) it is no frame either: no hint
        with self.assertRaises(FrameTooLargeError) as caught:
            check_header(0x00010008, 0x00010000, 1024)
        self.assertNotIn('byte order', str(caught.exception))


if __name__ == '__main__':
    unittest.main()
