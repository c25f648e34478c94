"""python -m npipes: send / receive / echo and the exit codes."""

import json
import signal
import subprocess
import threading
import unittest

from tests import support
from npipes import transport
from npipes.connection import connect
from npipes.ipc import IPC
from npipes.message import encode_frame


class CliTests(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()

    def run_cli(self, *args, stdin=None):
        p = subprocess.run([support.sys.executable, '-m', 'npipes', *args],
                           input=stdin, capture_output=True, text=True,
                           env=support.child_env(), timeout=support.CHILD_TIMEOUT)
        return p.returncode, p.stdout, p.stderr

    def assertOneLineError(self, err):
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith('npipes'), err)

    def test_usage_errors_exit_2(self):
        for args in ((), ('send',), ('send', 'n'), ('receive',),
                     ('receive', 'n', '--count', '0'),
                     ('send', 'n', 'x', '--byte-order', 'middle'),
                     ('send', 'n', 'x', '--encoding', 'no-such-codec'),
                     ('send', 'a/b', 'x')):
            with self.subTest(args=args):
                code, out, err = self.run_cli(*args)
                self.assertEqual(code, 2, err)
                self.assertOneLineError(err)

    def test_timeout_exit_3(self):
        for args in (('receive', self.name), ('send', self.name, 'x')):
            with self.subTest(args[0]):
                code, out, err = self.run_cli(*args, '--timeout', '0.1')
                self.assertEqual(code, 3)
                self.assertOneLineError(err)
                self.assertIn('timed out', err)

    def test_data_errors_exit_4(self):
        bad_crc = bytearray(encode_frame(b'Hello', crc=True))
        bad_crc[-1] ^= 1
        for label, frame, extra in (('crc', bytes(bad_crc), ['--crc']),
                                    ('ascii', encode_frame(b'caf\xe9'), []),
                                    ('order', encode_frame(b'Hello'),
                                     ['--byte-order', 'little'])):
            with self.subTest(label):
                self.name = support.pipe_name()
                self.addCleanup(support.serve_raw(self.name, frame).join)
                code, out, err = self.run_cli('receive', self.name,
                                              '--timeout', '10', *extra)
                self.assertEqual((code, out), (4, ''), err)
                self.assertOneLineError(err)

    def test_send_text_and_stdin(self):
        got = []
        t = threading.Thread(target=lambda: got.extend(
            IPC(self.name, timeout=10, endian='little').receive_message(crc=True)
            for _ in range(2)))
        t.start()
        code, _, err = self.run_cli('send', self.name, 'argv text', '--crc',
                                    '--byte-order', 'little', '--timeout', '10')
        self.assertEqual(code, 0, err)
        code, _, err = self.run_cli('send', self.name, '-', '--crc',
                                    '--byte-order', 'little', '--timeout', '10',
                                    stdin='stdin text\n')
        self.assertEqual(code, 0, err)
        t.join(10)
        self.assertEqual(got, ['argv text', 'stdin text\n'])    # byte for byte

    def test_receive_count_and_json(self):
        rx = support.spawn_cli('receive', self.name, '--count', '3',
                               '--encoding', 'utf-8', '--timeout', '10', '--json')
        for text in ('a', 'β', ''):
            self.assertTrue(IPC(self.name, timeout=10, encoding='utf-8')
                            .send_message(text))
        code, out, err = support.finish(rx)
        self.assertEqual(code, 0, err)
        self.assertEqual([json.loads(line) for line in out.splitlines()],
                         [{'text': 'a', 'bytes': 1, 'crc': '00000000'},
                          {'text': 'β', 'bytes': 2, 'crc': '00000000'},
                          {'text': '', 'bytes': 0, 'crc': '00000000'}])

    def test_echo_until_sigterm(self):
        p = support.spawn_cli('echo', self.name, '--crc')
        with connect(self.name, timeout=10, crc=True) as c:
            for i in range(20):
                self.assertEqual(c.request(f'e{i}', timeout=10), f'e{i}')
        with connect(self.name, timeout=10, crc=True) as c2:
            self.assertEqual(c2.request(b'second client', timeout=10),
                             b'second client')
        p.send_signal(signal.SIGTERM)
        code, out, err = support.finish(p)
        self.assertEqual(code, 0, err)
        if support.IS_UNIX:
            import os
            self.assertFalse(os.path.exists(transport.pipe_address(self.name)))


if __name__ == '__main__':
    unittest.main()
