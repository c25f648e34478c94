"""This package's CLI against the .NET CLI ``npipes``: they talk to each
other, print the same output and exit with the same codes.

The .NET CLI is found as in test_dotnet_cli.py ($NPIPES_CLI, else the
build output); without it these tests are skipped with the reason.
"""

import json
import signal
import unittest

from tests import support
from tests.cli_support import (CAN_SEE_WAITS, PY_CLI, PY_PROG, read_line,
                               remove_socket_file, run, serving_line, spawn,
                               stop, wait_until_polling)
from npipes import transport

T = 60      # .NET start-up included, on a loaded machine


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
        # Byte for byte: UTF-8 unescaped, only '"', '\\' and U+0000..U+001F
        # escaped (DEL, U+2028 and U+200B too are written as they are).
        text = 'β and ascii "q" \\ \t\x01\x7f\u2028\u200b😀 <&>'
        outputs = []
        for label, cli in (('python', PY_CLI), ('dotnet', self.net)):
            name = support.pipe_name()
            receiver = spawn(cli, 'receive', name, '--json', '--crc',
                             '--encoding', 'utf-8', '--timeout', T)
            code, _, err = run(PY_CLI, 'send', name, '-', '--crc',
                               '--encoding', 'utf-8', '--timeout', T,
                               stdin=text, timeout=T + 10)
            self.assertEqual(code, 0, err)
            code, out, err = support.finish(receiver, T + 10)
            self.assertEqual(code, 0, f'{label}: {err}')
            outputs.append(out)
        self.assertEqual(outputs[0], outputs[1])
        self.assertIn('β and ascii \\"q\\" \\\\ \\t\\u0001\x7f\u2028',
                      outputs[0])
        row = json.loads(outputs[0])
        self.assertEqual(list(row), ['text', 'bytes', 'crc'])
        self.assertEqual(row['text'], text)

    def test_request_to_the_other_echo(self):
        options = ['--crc', '--byte-order', 'little', '--encoding', 'utf-8']
        limits = ['--max-connections', 8, '--idle-timeout', 30,
                  '--frame-timeout', 2.5]
        for client_label, client, server_label, server in self.both():
            with self.subTest(client=client_label, server=server_label):
                name = support.pipe_name()
                self.addCleanup(remove_socket_file, name)
                echo = spawn(server, 'echo', name, *options, *limits)
                try:
                    # Both CLIs print the same line once they listen.
                    self.assertEqual(read_line(echo, T), serving_line(
                        name, 8, '30 s', '2.5 s'))
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
                py = run(PY_CLI, 'frame', 'encode', *args, timeout=T)
                net = run(self.net, 'frame', 'encode', *args, timeout=T)
                self.assertEqual(py, net)
                self.assertEqual(py[0], 0, py[2])
                options = args[1:]
                decoded = [run(cli, 'frame', 'decode', py[1].strip(),
                               *options, timeout=T)
                           for cli in (PY_CLI, self.net)]
                self.assertEqual(decoded, [(0, args[0] + '\n', '')] * 2)

    def assertSameError(self, args, code, stdin=None):
        """Both CLIs exit with *code* and print the same one line (but for
        the command each names in "see '... --help'")."""
        results = {}
        for label, cli in (('python', PY_CLI), ('dotnet', self.net)):
            got, out, err = run(cli, *args, stdin=stdin, timeout=T + 10)
            self.assertEqual((got, out), (code, ''), f'{label}: {err}')
            self.assertEqual(len(err.splitlines()), 1, f'{label}: {err}')
            self.assertTrue(err.startswith('npipes: '), f'{label}: {err}')
            results[label] = err.replace(f"(see '{PY_PROG} ", "(see 'npipes ")
        self.assertEqual(results['python'], results['dotnet'])
        return results['dotnet']

    def test_same_error_line_and_exit_code(self):
        name = self.name
        for args, code in (
                ((), 2),
                (('sned', name, 'x'), 2),
                (('frame', 'bogus'), 2),
                (('send', name), 2),
                (('receive', name, '--timeout', 'abc'), 2),
                (('receive', name, '--timeout', '-1'), 2),
                (('receive', name, '--timeout'), 2),
                (('receive', name, '--count', '0'), 2),
                (('send', name, 'x', '--byte-order', 'litle'), 2),
                (('send', name, 'x', '--encoding', 'utf-16'), 2),
                (('send', name, 'x', '--bogus'), 2),
                (('receive', name, 'extra'), 2),
                (('echo', name, '--idle-timeout', '0'), 2),
                (('echo', name, '--max-connections', '0'), 2),
                (('frame', 'decode', 'zz'), 2),
                (('receive', name, '--timeout', '0.2'), 3),
                (('request', name, 'x', '--timeout', '0.2'), 3),
                (('frame', 'decode', '0000000d0000000548656c6c6f00000001',
                  '--crc'), 4),
                (('frame', 'decode', '0000000d0000000548656c6c6f00000000',
                  '--crc'), 4),
                (('frame', 'decode', '0000000a00000002c3a900000000'), 4),
                (('frame', 'decode', '0000000a00000002e9e900000000',
                  '--encoding', 'utf-8'), 4),
                (('frame', 'decode', '0000000d0000000548656c6c'), 4),
                (('frame', 'decode', '0000000e0000000548656c6c6f00000000'),
                 4),
                (('frame', 'encode', 'café'), 4),
                (('send', name, 'café', '--timeout', T), 4),
                (('frame', 'encode', 'x'), 0)):
            with self.subTest(args=args):
                if code == 0:
                    self.assertEqual(run(PY_CLI, *args, timeout=T)[0], 0)
                    self.assertEqual(run(self.net, *args, timeout=T)[0], 0)
                else:
                    self.assertSameError(args, code)
        line = self.assertSameError(('frame', 'encode', '-'), 4, stdin='é')
        self.assertEqual(line, 'npipes: standard input is not ASCII text: '
                         'try --encoding utf-8 (both sides must use the '
                         'same)\n')
        # the hint the issue asks for, word for word
        self.assertIn('the text is not ASCII: try --encoding utf-8',
                      self.assertSameError(('frame', 'encode', 'é'), 4))
        self.assertIn("did you mean 'receive'?",
                      self.assertSameError(('recieve', name), 2))

    def test_a_refused_request_says_why_in_both(self):
        # A server with --crc closes a client whose frame carries no CRC:
        # either CLI's request learns what usually causes that.
        for label, server in (('python', PY_CLI), ('dotnet', self.net)):
            with self.subTest(server=label):
                name = support.pipe_name()
                self.addCleanup(remove_socket_file, name)
                echo = spawn(server, 'echo', name, '--crc')
                try:
                    read_line(echo, T)
                    line = self.assertSameError(
                        ('request', name, 'x', '--timeout', T), 1)
                finally:
                    code, _, err = stop(echo, timeout=T + 10)
                self.assertEqual(code, 0, err)
                self.assertEqual(line, (
                    'npipes: the server closed the connection without '
                    'replying; a server closes a connection whose frame it '
                    'cannot read: check that both sides use the same CRC '
                    'setting, byte order, encoding and maximum message '
                    'size\n'))

    @unittest.skipUnless(CAN_SEE_WAITS, 'needs /proc/PID/wchan (Linux) to '
                         'see when the Python CLI waits')
    def test_same_exit_code_for_a_signal(self):
        # 128 + the signal, and one line, from both CLIs.
        for label, cli in (('python', PY_CLI), ('dotnet', self.net)):
            for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
                with self.subTest(cli=label, signal=sig.name):
                    name = support.pipe_name()
                    self.addCleanup(remove_socket_file, name)
                    p = spawn(cli, 'receive', name)
                    support.wait_for_path(transport.pipe_address(name), p)
                    if label == 'python':
                        # Python's handlers are set once it waits (see
                        # test_cli.InterruptTests); .NET's before it listens.
                        wait_until_polling(p)
                    self.assertEqual(stop(p, sig, timeout=T + 10),
                                     (code, '', 'npipes: interrupted\n'))


if __name__ == '__main__':
    unittest.main()
