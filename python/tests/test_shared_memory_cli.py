"""``--shared-memory`` on the Python CLI's send, receive, echo and request
(docs/shared-memory.md §1), run as processes."""

import sys
import unittest

if not sys.platform.startswith('linux'):
    raise unittest.SkipTest('shared memory is Linux only')

from tests import support
from tests.cli_support import PY_CLI, run, spawn, stop
from tests.test_cli import CliCase

import npipes

T = 10
BIG = 'x' * (3 * 65536) + 'end'        # over the default threshold


class SharedMemoryCli(CliCase):

    def test_echo_and_request(self):
        echo = self.echo('--shared-memory', '--crc')
        # a library client shows the large reply came through shared memory
        with npipes.connect(self.name, T, crc=True,
                            shared_memory=True) as client:
            client.send(BIG, T)
            with client.recv_buffer(T) as reply:
                self.assertTrue(reply.shared)
                self.assertEqual(reply.view, BIG.encode())
        code, out, err = run(PY_CLI, 'request', self.name, '-', '--crc',
                             '--shared-memory', '--timeout', T, stdin=BIG)
        self.assertEqual((code, out), (0, BIG + '\n'), err)
        self.assertEqual(stop(echo)[2], '')

    def test_send_and_receive(self):
        rx = spawn(PY_CLI, 'receive', self.name, '--shared-memory', '--json',
                   '--timeout', T)
        code, _, err = run(PY_CLI, 'send', self.name, '-', '--shared-memory',
                           '--timeout', T, stdin=BIG)
        self.assertEqual(code, 0, err)
        code, out, err = support.finish(rx)
        self.assertEqual(code, 0, err)
        self.assertIn(f'"bytes":{len(BIG)}', out)
        self.assertIn('end"', out)

    def test_a_receiver_without_it_refuses_in_one_line(self):
        rx = spawn(PY_CLI, 'receive', self.name, '--timeout', T)
        code, _, err = run(PY_CLI, 'send', self.name, '-', '--shared-memory',
                           '--timeout', T, stdin=BIG)
        code, out, err = support.finish(rx)
        self.assertEqual((code, out), (4, ''), err)       # a frame error
        self.assertOneLineError(err)


if __name__ == '__main__':
    unittest.main()
