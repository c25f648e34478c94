"""This package's CLI against the .NET CLI ``npipes``: they talk to each
other, print the same output and exit with the same codes.

The .NET CLI is found as in test_dotnet_cli.py ($NPIPES_CLI, else the
build output); without it these tests are skipped with the reason.
"""

import json
import unittest

from tests import support
from tests.cli_support import (PY_CLI, read_line, remove_socket_file, run,
                               serving_line, spawn, stop)

T = 20      # .NET start-up included


class CliInteropTests(unittest.TestCase):

    def setUp(self):
        self.net, reason = support.dotnet_cli()
        if self.net is None:
            self.skipTest(reason)
        self.name = support.pipe_name()
        self.addCleanup(remove_socket_file, self.name)

    def both(self):
        return (('python', PY_CLI, 'dotnet', self.net),
                ('dotnet', self.net, 'python', PY_CLI))

    def test_send_and_receive_across(self):
        options = ['--crc', '--byte-order', 'little', '--encoding', 'utf-8',
                   '--timeout', T]
        for tx_label, tx, rx_label, rx in self.both():
            with self.subTest(sender=tx_label, receiver=rx_label):
                name, text = support.pipe_name(), f'{tx_label} says héllo'
                receiver = spawn(rx, 'receive', name, '--count', 2, *options)
                for message in (text, '-'):
                    code, _, err = run(tx, 'send', name, message, *options,
                                       stdin='from stdin', timeout=T + 10)
                    self.assertEqual(code, 0, err)
                code, out, err = support.finish(receiver, T + 10)
                self.assertEqual((code, out), (0, text + '\nfrom stdin\n'),
                                 err)

    def test_receive_json_is_the_same(self):
        outputs = []
        for label, cli in (('python', PY_CLI), ('dotnet', self.net)):
            name = support.pipe_name()
            receiver = spawn(cli, 'receive', name, '--json', '--crc',
                             '--encoding', 'utf-8', '--timeout', T)
            code, _, err = run(PY_CLI, 'send', name, 'β and ascii', '--crc',
                               '--encoding', 'utf-8', '--timeout', T,
                               timeout=T + 10)
            self.assertEqual(code, 0, err)
            code, out, err = support.finish(receiver, T + 10)
            self.assertEqual(code, 0, f'{label}: {err}')
            outputs.append(json.loads(out))
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(list(outputs[0]), ['text', 'bytes', 'crc'])

    def test_request_to_the_other_echo(self):
        options = ['--crc', '--byte-order', 'little', '--encoding', 'utf-8']
        for client_label, client, server_label, server in self.both():
            with self.subTest(client=client_label, server=server_label):
                name = support.pipe_name()
                self.addCleanup(remove_socket_file, name)
                echo = spawn(server, 'echo', name, *options)
                try:
                    # Both CLIs print the same line once they listen.
                    self.assertEqual(read_line(echo, T), serving_line(name))
                    code, out, err = run(client, 'request', name, 'ping β',
                                         *options, '--timeout', T,
                                         timeout=T + 10)
                    self.assertEqual((code, out), (0, 'ping β\n'), err)
                finally:
                    code, _, err = stop(echo, timeout=T + 10)
                self.assertEqual(code, 0, err)

    def test_frame_encode_and_decode_agree(self):
        for args in (('Hello',), ('Hello', '--crc'),
                     ('Hello', '--crc', '--byte-order', 'little'),
                     ('é', '--encoding', 'latin-1', '--crc'),
                     ('é€', '--encoding', 'utf-8'), ('',)):
            with self.subTest(args=args):
                py = run(PY_CLI, 'frame', 'encode', *args)
                net = run(self.net, 'frame', 'encode', *args, timeout=T)
                self.assertEqual(py, net)
                self.assertEqual(py[0], 0, py[2])
                options = args[1:]
                decoded = [run(cli, 'frame', 'decode', py[1].strip(),
                               *options, timeout=T)
                           for cli in (PY_CLI, self.net)]
                self.assertEqual(decoded, [(0, args[0] + '\n', '')] * 2)

    def test_same_exit_codes(self):
        name = self.name
        bad_crc = '0000000d0000000548656c6c6ff7d18983'
        for args, code in (
                (('sned', name, 'x'), 2),
                (('send', name), 2),
                (('receive', name, '--count', '0'), 2),
                (('receive', name, '--timeout', '-1'), 2),
                (('send', name, 'x', '--byte-order', 'middle'), 2),
                (('send', name, 'x', '--encoding', 'utf-16'), 2),
                (('send', 'a/b', 'x'), 2),
                (('frame', 'decode', 'zz'), 2),
                (('receive', name, '--timeout', '0.2'), 3),
                (('request', name, 'x', '--timeout', '0.2'), 3),
                (('frame', 'decode', bad_crc, '--crc'), 4),
                (('frame', 'encode', 'café'), 4),
                (('send', name, 'café', '--timeout', T), 4),
                (('frame', 'encode', 'x'), 0)):
            with self.subTest(args=args):
                for label, cli in (('python', PY_CLI), ('dotnet', self.net)):
                    got, _, err = run(cli, *args, timeout=T + 10)
                    self.assertEqual(got, code, f'{label}: {err}')


if __name__ == '__main__':
    unittest.main()
