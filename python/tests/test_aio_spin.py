"""npipes.aio's request spin (_aio_spin, the rules of .NET's Linux
receive): bounded, backing off once spins keep giving up, and a request
that spins still gets its own reply."""

import asyncio
import threading
import unittest
from unittest import mock

from tests import support
from npipes import _aio_spin, aio
from npipes._aio_spin import MISSES_BEFORE_BACKOFF, PROBE_EVERY, Spinner
from npipes.listener import Listener, echo_handler

T = 10


def _never() -> int:
    raise BlockingIOError


class SpinnerTests(unittest.TestCase):

    def test_a_spin_returns_what_arrives_or_gives_up_within_its_limit(self):
        tries = iter([BlockingIOError(), BlockingIOError(), 7])

        def attempt():
            got = next(tries)
            if isinstance(got, BaseException):
                raise got
            return got
        spinner = Spinner()
        self.assertEqual(spinner.spin(attempt, BlockingIOError), (True, 7))
        self.assertEqual(spinner.spin(_never, BlockingIOError), (False, None))

    def test_spins_that_keep_giving_up_are_tried_only_every_eighth_time(self):
        spinner = Spinner()
        with mock.patch.object(_aio_spin, 'spare_core', return_value=True):
            for _ in range(MISSES_BEFORE_BACKOFF):
                self.assertTrue(spinner.worth_it())
                spinner.spin(_never, BlockingIOError)
            asked = [spinner.worth_it() for _ in range(2 * PROBE_EVERY)]
        self.assertEqual(asked, ([False] * (PROBE_EVERY - 1) + [True]) * 2)

    def test_no_spin_on_a_busy_machine(self):
        spinner = Spinner()
        with mock.patch.object(_aio_spin, 'spare_core', return_value=False):
            self.assertFalse(spinner.worth_it())


@unittest.skipUnless(support.IS_UNIX, 'the socket channel is Unix only')
class SpinningRequestTests(unittest.TestCase):

    def test_requests_that_spin_get_their_own_replies(self):
        # A threaded server: it can answer while the loop spins.
        name = support.pipe_name()

        async def main():
            async with await aio.connect(name, timeout=T, crc=True) as c:
                c._channel.spinner.always = True
                for i in range(200):
                    self.assertEqual(await c.request(f'r{i}'), f'r{i}')
        with Listener(name, crc=True) as listener:
            threading.Thread(target=listener.serve_forever,
                             args=(echo_handler,), daemon=True).start()
            asyncio.run(asyncio.wait_for(main(), T * 3))

    def test_a_request_larger_than_the_socket_buffer_goes_out_whole(self):
        # The fast path's partial write: the rest is queued and drained.
        name = support.pipe_name()
        big = bytes(range(256)) * 16384          # 4 MiB

        async def main():
            async with await aio.connect(name, timeout=T, crc=True) as c:
                for _ in range(2):
                    self.assertEqual(await c.request(big), big)
        with Listener(name, crc=True) as listener:
            threading.Thread(target=listener.serve_forever,
                             args=(echo_handler,), daemon=True).start()
            asyncio.run(asyncio.wait_for(main(), T * 3))


if __name__ == '__main__':
    unittest.main()
