"""python -m npipes (npipes-py): every command, run as a process, with the
exit codes, output and one-line errors of the .NET CLI's contract.
(Against the .NET CLI itself: test_cli_interop.py.)"""

import json
import os
import signal
import threading
import unittest

from tests import support
from tests.cli_support import (CAN_SEE_WAITS, PY_CLI, PY_PROG, read_line,
                               remove_socket_file, run, serving_line, spawn,
                               stop, wait_until_polling)
from npipes import transport
from npipes._util import Deadline
from npipes.connection import connect
from npipes.errors import ConnectionClosedError
from npipes.ipc import IPC
from npipes.message import encode_frame

T = 10


class CliCase(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()
        self.addCleanup(remove_socket_file, self.name)

    def run_cli(self, *args, stdin=None):
        return run(PY_CLI, *args, stdin=stdin)

    def assertOneLineError(self, err):
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith('npipes: '), err)
        self.assertNotIn('Traceback', err)

    def echo(self, *args, **limits):
        """Start ``echo NAME args``; return it once it serves (its line,
        which shows *limits*: see serving_line)."""
        p = spawn(PY_CLI, 'echo', self.name, *args)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        self.assertEqual(read_line(p), serving_line(self.name, **limits))
        return p


class UsageTests(CliCase):

    def test_help_names_the_command(self):
        code, out, err = self.run_cli('--help')
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith(f'usage: {PY_PROG} '), out)
        for command in ('send', 'receive', 'echo', 'request', 'frame'):
            self.assertIn(command, out)
        code, out, _ = self.run_cli('frame', 'decode', '--help')
        self.assertTrue(out.startswith(f'usage: {PY_PROG} frame decode '),
                        out)

    def test_version(self):
        import npipes
        self.assertEqual(self.run_cli('--version')[:2],
                         (0, npipes.__version__ + '\n'))

    def test_usage_errors_exit_2(self):
        for args in ((), ('send',), ('send', 'n'), ('receive',),
                     ('receive', 'n', '--count', '0'),
                     ('receive', 'n', '--count', 'x'),
                     ('receive', 'n', '--timeout', '-1'),
                     ('receive', 'n', '--timeout', 'nan'),
                     ('send', 'n', 'x', '--byte-order', 'middle'),
                     ('send', 'n', 'x', '--encoding', 'utf-16'),
                     ('send', 'n', 'x', '--cr'),          # no abbreviations
                     ('echo', 'n', '--idle-timeout', '0'),
                     ('echo', 'n', '--max-connections', '0'),
                     ('frame',), ('frame', 'decode', 'xyz'),
                     ('frame', 'decode', '123'),
                     ('send', 'a/b', 'x'), ('request', '', 'x'),
                     ('sned', 'n', 'x')):
            with self.subTest(args=args):
                code, out, err = self.run_cli(*args)
                self.assertEqual((code, out), (2, ''), err)
                self.assertOneLineError(err)

    def test_did_you_mean(self):
        for args, guess in ((('sned', 'n', 'x'), "did you mean 'send'?"),
                            (('recieve', 'n'), "did you mean 'receive'?"),
                            (('send', 'n', 'x', '--byte-order', 'litle'),
                             "did you mean 'little'?"),
                            (('send', 'n', 'x', '--encoding', 'utf_8'),
                             "did you mean 'utf-8'?")):
            with self.subTest(args=args):
                code, _, err = self.run_cli(*args)
                self.assertEqual(code, 2, err)
                self.assertIn(guess, err)
                self.assertTrue(err.endswith(f"--help')\n"), err)


class PipeCommandTests(CliCase):

    def test_timeout_exit_3(self):
        for args in (('receive', self.name), ('send', self.name, 'x'),
                     ('request', self.name, 'x')):
            with self.subTest(args[0]):
                code, out, err = self.run_cli(*args, '--timeout', '0.1')
                self.assertEqual((code, out), (3, ''), err)
                self.assertOneLineError(err)
                self.assertIn(f"{args[0]} on pipe '{self.name}'", err)
                self.assertIn('timed out after 0.1 s', err)

    def test_data_errors_exit_4_with_a_hint(self):
        no_crc = encode_frame(b'Hello')
        bad_crc = bytearray(encode_frame(b'Hello', crc=True))
        bad_crc[-1] ^= 1
        for label, frame, extra, hint in (
                ('crc', bytes(bad_crc), ['--crc'], 'CRC-32 mismatch'),
                ('no crc', no_crc, ['--crc'], 'use --crc on both sides'),
                ('ascii', encode_frame('café'.encode()), [],
                 'try --encoding utf-8'),
                ('order', no_crc, ['--byte-order', 'little'],
                 'does the peer use another --byte-order?')):
            with self.subTest(label):
                self.name = support.pipe_name()
                server = support.serve_raw(self.name, frame)
                code, out, err = self.run_cli('receive', self.name,
                                              '--timeout', T, *extra)
                support.join(server)
                self.assertEqual((code, out), (4, ''), err)
                self.assertOneLineError(err)
                self.assertIn(hint, err)

    def test_send_text_that_the_encoding_cannot_carry_exit_4(self):
        code, _, err = self.run_cli('send', self.name, 'café', '--timeout', T)
        self.assertEqual(code, 4, err)
        self.assertOneLineError(err)
        self.assertIn('try --encoding utf-8', err)

    def test_send_text_and_stdin(self):
        got = []
        t = threading.Thread(target=lambda: got.extend(
            IPC(self.name, timeout=T, endian='little').receive_message(crc=True)
            for _ in range(2)))
        t.start()
        code, _, err = self.run_cli('send', self.name, 'argv text', '--crc',
                                    '--byte-order', 'little', '--timeout', T)
        self.assertEqual(code, 0, err)
        code, _, err = self.run_cli('send', self.name, '-', '--crc',
                                    '--byte-order', 'little', '--timeout', T,
                                    stdin='stdin text\n')
        self.assertEqual(code, 0, err)
        support.join(t)
        self.assertEqual(got, ['argv text', 'stdin text\n'])    # byte for byte

    def test_receive_count_and_json(self):
        rx = spawn(PY_CLI, 'receive', self.name, '--count', 3, '--encoding',
                   'utf-8', '--timeout', T, '--json')
        for text in ('a', 'β', ''):
            self.assertTrue(IPC(self.name, timeout=T, encoding='utf-8')
                            .send_message(text, crc=True))
        code, out, err = support.finish(rx)
        self.assertEqual(code, 0, err)
        self.assertIn('"β"', out)                         # UTF-8, unescaped
        crc = {'a': 'e8b7be43', 'β': '31cf3a9f', '': '00000000'}
        self.assertEqual([json.loads(line) for line in out.splitlines()],
                         [{'text': t, 'bytes': len(t.encode()), 'crc': crc[t]}
                          for t in ('a', 'β', '')])

    def test_request(self):
        self.echo('--crc', '--byte-order', 'little', '--encoding', 'utf-8')
        code, out, err = self.run_cli('request', self.name, 'ping β', '--crc',
                                      '--byte-order', 'little', '--encoding',
                                      'utf-8', '--timeout', T)
        self.assertEqual((code, out), (0, 'ping β\n'), err)
        code, out, err = self.run_cli('request', self.name, '-', '--crc',
                                      '--byte-order', 'little', '--timeout',
                                      T, stdin='from stdin')
        self.assertEqual((code, out), (0, 'from stdin\n'), err)

    def test_request_refused_for_a_frame_error_says_why(self):
        echo = self.echo('--crc')
        code, out, err = self.run_cli('request', self.name, 'x', '--timeout', T)
        self.assertEqual((code, out), (1, ''), err)
        self.assertOneLineError(err)
        self.assertEqual(err, 'npipes: the server closed the connection '
                         'without replying; a server closes a connection '
                         'whose frame it cannot read: check that both sides '
                         'use the same CRC setting, byte order, encoding and '
                         'maximum message size\n')
        # the server reports that client and goes on serving
        self.assertIn('npipes echo: connection closed: CRC-32 mismatch',
                      stop(echo)[2])


class EchoTests(CliCase):

    def test_echo_until_sigterm(self):
        p = self.echo('--crc')
        with connect(self.name, timeout=T, crc=True) as c:
            for i in range(20):
                self.assertEqual(c.request(f'e{i}', timeout=T), f'e{i}')
            with connect(self.name, timeout=T, crc=True) as c2:
                self.assertEqual(c2.request(b'second client', timeout=T),
                                 b'second client')
        code, out, err = stop(p, signal.SIGTERM)
        self.assertEqual((code, out, err), (0, '', ''))
        if support.IS_UNIX:
            self.assertFalse(os.path.exists(transport.pipe_address(self.name)))

    @unittest.skipUnless(support.IS_UNIX, 'signals: Unix')
    def test_echo_stops_on_ctrl_c_with_0(self):
        p = self.echo()
        self.assertEqual(stop(p, signal.SIGINT), (0, '', ''))
        self.assertFalse(os.path.exists(transport.pipe_address(self.name)))

    def test_echo_a_bad_client_is_one_line_and_serving_goes_on(self):
        p = self.echo('--crc')
        with connect(self.name, timeout=T) as bad:          # no CRC
            bad.send('x')
            with self.assertRaises(ConnectionClosedError):
                bad.recv(timeout=T)
        with connect(self.name, timeout=T, crc=True) as good:
            self.assertEqual(good.request('still here', timeout=T),
                             'still here')
        code, _, err = stop(p)
        self.assertEqual(code, 0, err)
        self.assertEqual(err.splitlines(), [
            'npipes echo: connection closed: CRC-32 mismatch: the frame '
            "carries 0x00000000, the payload's is 0x8cdc1683; the frame "
            'carries no CRC (field 0): use --crc on both sides, or on '
            'neither'])

    def test_echo_max_connections(self):
        p = self.echo('--max-connections', 1, max_connections=1)
        with connect(self.name, timeout=T) as first:
            self.assertEqual(first.request('1', timeout=T), '1')
            with connect(self.name, timeout=T) as second:
                with self.assertRaises(ConnectionClosedError):
                    second.request('2', timeout=T)
            self.assertEqual(first.request('1 again', timeout=T), '1 again')
        self.assertEqual(stop(p)[0], 0)

    def test_echo_idle_timeout(self):
        p = self.echo('--idle-timeout', 0.2, idle_timeout='0.2 s')
        with connect(self.name, timeout=T) as idle:
            with self.assertRaises(ConnectionClosedError):
                idle.recv(timeout=T)          # the server closes it first
        code, _, err = stop(p)
        self.assertEqual(code, 0, err)
        self.assertIn('npipes echo: connection closed: ', err)
        self.assertIn('idle timeout', err)

    def test_echo_frame_timeout(self):
        p = self.echo('--max-connections', 3, '--idle-timeout', 30,
                      '--frame-timeout', 0.2, max_connections=3,
                      idle_timeout='30 s', frame_timeout='0.2 s')
        # A client that starts a frame and never ends it is closed (an
        # end of stream, or a reset); the server goes on.
        stream = transport.connect(self.name, Deadline(T))
        try:
            stream.send(b'\0\0\0', Deadline(T))
            try:
                n = stream.recv_into(memoryview(bytearray(1)), Deadline(T))
            except ConnectionClosedError:
                n = 0
            self.assertEqual(n, 0)
        finally:
            stream.close()
        with connect(self.name, timeout=T) as good:
            self.assertEqual(good.request('still here', timeout=T),
                             'still here')
        code, _, err = stop(p)
        self.assertEqual(code, 0, err)
        self.assertIn('frame timeout', err)

    def test_echo_on_a_held_name_exit_1(self):
        self.echo()
        code, out, err = self.run_cli('echo', self.name)
        self.assertEqual((code, out), (1, ''), err)
        self.assertOneLineError(err)


@unittest.skipUnless(CAN_SEE_WAITS, 'needs /proc/PID/wchan (Linux) to see '
                     'when the command waits')
class InterruptTests(CliCase):
    """Ctrl-C is 130, SIGTERM 143 (128 + the signal), with the line
    "npipes: interrupted"; either way a pipe the command was
    serving (a receive or send waiting alone) is released.  The signal is
    sent once the command waits for its peer: a signal in the middle of
    claiming the name is a race this test does not cover."""

    def test_interrupted_while_waiting(self):
        path = transport.pipe_address(self.name)
        for command in (('receive', self.name), ('send', self.name, 'x')):
            for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
                with self.subTest(command=command[0], signal=sig.name):
                    p = spawn(PY_CLI, *command)
                    support.wait_for_path(path, p)    # it serves the name
                    wait_until_polling(p)             # ... and waits
                    self.assertEqual(stop(p, sig),
                                     (code, '', 'npipes: interrupted\n'))
                    self.assertFalse(os.path.lexists(path))


class FrameTests(CliCase):

    def test_encode(self):
        for args, frame in (
                (('Hello',), '0000000d0000000548656c6c6f00000000'),
                (('Hello', '--crc'), '0000000d0000000548656c6c6ff7d18982'),
                (('Hello', '--crc', '--byte-order', 'little'),
                 '0d0000000500000048656c6c6f8289d1f7'),
                (('é', '--encoding', 'latin-1'), '0000000900000001e900000000'),
                (('é', '--encoding', 'utf-8'),
                 '0000000a00000002c3a900000000')):
            with self.subTest(args=args):
                self.assertEqual(self.run_cli('frame', 'encode', *args),
                                 (0, frame + '\n', ''))
        self.assertEqual(self.run_cli('frame', 'encode', '-', stdin='Hello'),
                         (0, '0000000d0000000548656c6c6f00000000\n', ''))

    def test_decode(self):
        self.assertEqual(self.run_cli('frame', 'decode', '0000000d 00000005 '
                                      '48656C6C6F F7D18982', '--crc'),
                         (0, 'Hello\n', ''))
        self.assertEqual(self.run_cli('frame', 'decode',
                                      '0000000a00000002c3a900000000',
                                      '--encoding', 'utf-8'),
                         (0, 'é\n', ''))
        for label, hex_frame, extra in (
                ('crc', '0000000d0000000548656c6c6ff7d18983', ['--crc']),
                ('cut', '0000000d0000000548656c6c', []),
                ('order', '0000000d0000000548656c6c6f00000000',
                 ['--byte-order', 'little']),
                ('ascii', '0000000a00000002c3a900000000', [])):
            with self.subTest(label):
                code, out, err = self.run_cli('frame', 'decode', hex_frame,
                                              *extra)
                self.assertEqual((code, out), (4, ''), err)
                self.assertOneLineError(err)

    def test_decoding_a_shared_memory_frame_names_shared_memory(self):
        descriptor = '80000028 00000020' + '00' * 32 + '00000000'
        self.assertEqual(
            self.run_cli('frame', 'decode', descriptor),
            (4, '', 'npipes: the peer sends shared-memory frames: use '
                    '--shared-memory on both sides, or on neither\n'))


if __name__ == '__main__':
    unittest.main()
