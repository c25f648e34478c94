"""Cross-language tests against the .NET CLI ``npipes``.

The CLI is found through $NPIPES_CLI (a command prefix, shlex-split, e.g.
``dotnet /path/npipes.dll``), else ``<repo>/src/NPipes.Cli/bin/{Release,Debug}
/net10.0/npipes.dll`` run with ``dotnet``; without it every test here is
skipped with the reason.  (``NPIPES_CLI="python3 -m npipes"`` runs them
against this package's own CLI, which follows the same contract.)
"""

import json
import os
import subprocess
import threading
import time
import unittest
import zlib

from tests import support
from npipes import transport
from npipes._util import Deadline
from npipes.connection import NO_REPLY, connect
from npipes.errors import ConnectionClosedError, PipeTimeoutError
from npipes.ipc import IPC
from npipes.message import encode_frame

T = 20      # .NET start-up included
CASES = [(endian, crc) for endian in ('big', 'little') for crc in (False, True)]


class DotnetCliTests(unittest.TestCase):

    def setUp(self):
        self.cli, reason = support.dotnet_cli()
        if self.cli is None:
            self.skipTest(reason)
        self.name = support.pipe_name()

    def start(self, *args):
        return subprocess.Popen([*self.cli, *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, encoding='utf-8',
                                env=support.child_env())

    def connect_to_echo(self, echo, **options):
        """Poll-connect to the CLI's echo server (no sleeps: connect waits)."""
        end = time.monotonic() + T
        while True:
            try:
                return connect(self.name, timeout=0.25, **options)
            except PipeTimeoutError:
                if echo.poll() is not None:     # a usage error (2) too
                    _, err = echo.communicate()
                    self.fail(f'echo exited with {echo.returncode}: {err}')
                if time.monotonic() > end:
                    self.fail('the echo server never appeared')

    def stop_echo(self, echo):
        """SIGTERM the echo server (it removes its socket file); if it does
        not stop, SIGKILL it, remove the file it left, and fail."""
        echo.terminate()
        try:
            echo.communicate(timeout=T)
        except subprocess.TimeoutExpired:
            echo.kill()
            echo.communicate()
            if support.IS_UNIX:
                path = transport.pipe_address(self.name)
                if os.path.exists(path):
                    os.unlink(path)         # this test's own random name
            self.fail('echo did not stop on SIGTERM')

    @staticmethod
    def flags(endian, crc):
        return ['--byte-order', endian] + (['--crc'] if crc else [])

    def test_python_send_cli_receive(self):
        for endian, crc in CASES:
            with self.subTest(endian=endian, crc=crc):
                name, text = support.pipe_name(), f'py->cli {endian} {crc}'
                rx = self.start('receive', name, *self.flags(endian, crc),
                                '--timeout', T)
                self.assertTrue(IPC(name, endian=endian, timeout=T)
                                .send_message(text, crc=crc))
                code, out, err = support.finish(rx, T + 10)
                self.assertEqual((code, out), (0, text + '\n'), err)

    def test_cli_send_python_receive(self):
        for endian, crc in CASES:
            with self.subTest(endian=endian, crc=crc):
                name, text = support.pipe_name(), f'cli->py {endian} {crc}'
                tx = self.start('send', name, text, *self.flags(endian, crc),
                                '--timeout', T)
                got = IPC(name, endian=endian, timeout=T).receive_message(crc=crc)
                self.assertEqual(got, text)
                code, out, err = support.finish(tx, T + 10)
                self.assertEqual(code, 0, err)

    def test_cli_receive_count_json(self):
        rx = self.start('receive', self.name, '--count', 3, '--crc', '--json',
                        '--encoding', 'latin-1', '--timeout', T)
        texts = ['one', 'café', 'x' * 70000]        # the last > 64 KiB
        sent = []

        def send_all():         # while we read the CLI's output (> 64 KiB)
            for text in texts:
                sent.append(IPC(self.name, encoding='latin-1', timeout=T)
                            .send_message(text, crc=True))
        sender = threading.Thread(target=send_all)
        sender.start()
        code, out, err = support.finish(rx, T + 10)
        sender.join(T)
        self.assertEqual(sent, [True] * 3)
        self.assertEqual(code, 0, err)
        rows = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([r['text'] for r in rows], texts)
        for row, text in zip(rows, texts):
            self.assertEqual(set(row), {'text', 'bytes', 'crc'})
            self.assertEqual(row['bytes'], len(text))
            # the CRC field as 8 lowercase hex digits
            self.assertEqual(row['crc'], f"{zlib.crc32(text.encode('latin-1')):08x}")

    def test_cli_rejects_bad_crc_exit_4(self):
        rx = self.start('receive', self.name, '--crc', '--timeout', T)
        frame = bytearray(encode_frame(b'Hello', crc=True))
        frame[-1] ^= 1
        stream = transport.rendezvous(self.name, Deadline(T))
        try:
            stream.send(bytes(frame), Deadline(T))
        finally:
            code, out, err = support.finish(rx, T + 10)
            stream.close()
        self.assertEqual((code, out), (4, ''), err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_cli_receive_timeout_exit_3(self):
        rx = self.start('receive', self.name, '--timeout', '0.5')
        code, out, err = support.finish(rx, T + 10)
        self.assertEqual(code, 3, err)

    def test_connection_with_cli_echo(self):
        echo = self.start('echo', self.name, '--crc')
        try:
            with self.connect_to_echo(echo, crc=True) as c:
                for i in range(10):
                    c.send(f'message {i}')
                for i in range(10):
                    self.assertEqual(c.recv_text(timeout=T), f'message {i}')
                self.assertEqual(c.request('a request', timeout=T), 'a request')
                big = bytes(range(256)) * 4096                  # 1 MiB
                self.assertEqual(c.request(big, timeout=T), big)
                # a second client at the same time
                with connect(self.name, timeout=T, crc=True) as c2:
                    self.assertEqual(c2.request(b'second', timeout=T), b'second')
                    self.assertEqual(c.request(b'first', timeout=T), b'first')
        finally:
            self.stop_echo(echo)

    def test_a_request_the_server_refuses_says_what_usually_causes_it(self):
        # A .NET server with CRC on closes a client whose frame carries none
        # (the format has no error reply); the client's error says why.
        echo = self.start('echo', self.name, '--crc')
        try:
            with self.connect_to_echo(echo) as c:
                with self.assertRaises(ConnectionClosedError) as cm:
                    c.request('no crc', timeout=T)
            self.assertEqual(str(cm.exception), NO_REPLY)
            self.assertEqual(cm.exception.reason, 'peer closed')
            self.assertEqual(NO_REPLY, (
                'the server closed the connection without replying; a '
                'server closes a connection whose frame it cannot read: '
                'check that both sides use the same CRC setting, byte '
                'order, encoding and maximum message size'))
        finally:
            self.stop_echo(echo)

    def test_connection_with_cli_echo_little_endian(self):
        echo = self.start('echo', self.name, '--byte-order', 'little')
        try:
            with self.connect_to_echo(echo, endian='little') as c:
                for i in range(5):
                    self.assertEqual(c.request(f'le {i}', timeout=T), f'le {i}')
        finally:
            self.stop_echo(echo)


if __name__ == '__main__':
    unittest.main()
