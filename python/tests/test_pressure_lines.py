"""CLI lines stay one line, and logging never blocks serving
(docs/reliability.md section 6), as the .NET CliPressureTests: user text is
quoted like repr and any control character left in a line is escaped; the
servers' per-connection lines come whole from one writer thread with a
bounded queue, so a server whose stderr nobody reads keeps serving.
"""

import socket
import struct
import subprocess
import sys
import unittest
import uuid

import npipes
from npipes import transport
from npipes._quote import line
from tests import support
from tests.cli_support import PY_CLI, read_line, run, spawn, stop


class OneLineTests(unittest.TestCase):

    def test_line_escapes_control_characters_as_repr_does(self):
        self.assertEqual(line('a\nb\x1b[31m\t\r\x7f\u2028é'),
                         'a\\nb\\x1b[31m\\t\\r\\x7f\\u2028é')
        self.assertEqual(line('plain text'), 'plain text')

    def test_a_name_with_a_newline_and_an_escape_is_one_line_in_both_clis(self):
        name = 'np\nx\x1b[31m' + uuid.uuid4().hex[:8]
        escaped = repr(name)
        self.assertNotIn('\x1b', escaped)
        expected = f'npipes: receive on pipe {escaped}: timed out after 0 s\n'
        code, _, err = run(PY_CLI, 'receive', name, '--timeout', '0')
        self.assertEqual((code, err), (3, expected))
        net, reason = support.dotnet_cli()
        if net is not None:            # the .NET CLI prints the same line
            code, _, err = run(net, 'receive', name, '--timeout', '0',
                               timeout=60)
            self.assertEqual((code, err), (3, expected))

    @unittest.skipUnless(support.IS_UNIX, 'a name with a newline is a path')
    def test_the_echo_servers_serving_line_stays_one_line(self):
        name = 'np\nx\x1b' + uuid.uuid4().hex[:8]
        echo = spawn(PY_CLI, 'echo', name)
        serving = read_line(echo)
        code, out, err = stop(echo)
        self.assertEqual(code, 0, err)
        self.assertTrue(serving.startswith(
            "npipes echo: serving 'np\\nx\\x1b"), serving)
        self.assertNotIn('\x1b', serving + out)
        self.assertEqual(out, '')


@unittest.skipUnless(support.IS_UNIX, 'raw AF_UNIX clients')
class UndrainedStderrTests(unittest.TestCase):

    def test_an_echo_server_whose_stderr_nobody_reads_keeps_serving(self):
        name = support.pipe_name()
        # Its stderr is a pipe this test never reads.
        echo = subprocess.Popen([*PY_CLI, 'echo', name],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                env=support.child_env())
        try:
            self.assertIn(b': serving ', echo.stdout.readline())
            path = transport.pipe_address(name)
            hostile = struct.pack('>II', 0xffffffff, 0)
            # 3,000 clients each sending a hostile length prefix: one error
            # line each (~100 bytes), far past the 64 KiB pipe.  Before, a
            # handler blocked in print() and never closed its client.
            for i in range(3000):
                with socket.socket(socket.AF_UNIX) as bad:
                    bad.settimeout(support.CHILD_TIMEOUT)
                    bad.connect(path)
                    bad.sendall(hostile)
                    try:                 # closed by the server: now
                        bad.recv(1)
                    except socket.timeout:
                        self.fail(f'client {i} was never closed')
            with npipes.connect(name, timeout=support.CHILD_TIMEOUT) as good:
                good.send('still here')
                self.assertEqual(good.recv(support.CHILD_TIMEOUT),
                                 b'still here')
        finally:
            echo.kill()
            echo.wait(support.CHILD_TIMEOUT)
            echo.stdout.close()
            echo.stderr.close()


if __name__ == '__main__':
    unittest.main()
