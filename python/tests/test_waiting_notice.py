"""Waiting for nothing, visibly: both CLIs say once on a terminal's stderr
that they wait for a server (silent when stderr is redirected), and the
library logs WaitingForServer (id 12, as NPipesLog.cs) for its users."""

import logging
import os
import pty
import select
import subprocess
import sys
import time
import unittest

from tests import support
from npipes import _log
from npipes.connection import connect
from npipes.errors import PipeTimeoutError

T = 30          # a .NET start on a loaded machine


def _read_until(fd, text, proc, timeout=T):
    """What arrived on *fd* until *text* did (or the time ran out)."""
    got, end = b'', time.monotonic() + timeout
    while text.encode() not in got and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:         # the child closed the terminal
                break
            if not chunk:
                break
            got += chunk
        elif proc.poll() is not None:
            break
    return got.decode(errors='replace')


@unittest.skipUnless(support.IS_UNIX, 'a pty is a Unix matter')
class TerminalNoticeTests(unittest.TestCase):
    def _check(self, argv, expected):
        master, slave = pty.openpty()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=slave,
                                env=support.child_env())
        os.close(slave)
        try:
            seen = _read_until(master, expected, proc)
        finally:
            proc.kill()
            proc.wait(support.CHILD_TIMEOUT)
            proc.stdout.close()
            os.close(master)
        self.assertIn(expected, seen)

    def _python(self, *args):
        return [sys.executable, '-m', 'npipes', *args]

    def _dotnet(self, *args):
        cli, reason = support.dotnet_cli()
        if cli is None:
            self.skipTest(reason)
        return [*cli, *args]

    def test_each_cli_says_it_waits_for_a_server(self):
        for cli, args in ((self._python, ('request', '{name}', 'hi')),
                          (self._python, ('rpc', 'call', '{name}', 'add', '1', '2')),
                          (self._dotnet, ('request', '{name}', 'hi')),
                          (self._dotnet, ('rpc', 'call', '{name}', 'Add', '1', '2')),
                          (self._python, ('rpc', 'describe', '{name}')),
                          (self._python, ('rpc', 'stubs', '{name}')),
                          (self._dotnet, ('rpc', 'describe', '{name}')),
                          (self._dotnet, ('rpc', 'stubs', '{name}'))):
            name = support.pipe_name()
            argv = [a.format(name=name) for a in args]
            with self.subTest(cli=cli.__name__, command=' '.join(args[:2])):
                self._check(cli(*argv),
                            f"npipes: waiting for a server on '{name}'...")

    def test_redirected_stderr_gets_no_notice(self):
        name = support.pipe_name()
        proc = support.spawn_cli('request', '--timeout', '2', name, 'hi')
        code, _, err = support.finish(proc)
        self.assertNotEqual(code, 0)
        self.assertNotIn('waiting for', err)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@unittest.skipUnless(support.IS_UNIX, 'the Windows connect does not log it')
class WaitingForServerEventTests(unittest.TestCase):
    def test_a_connect_that_finds_no_server_logs_waiting_for_server(self):
        name = support.pipe_name()
        capture = _Capture()
        _log.log.addHandler(capture)
        level = _log.log.level
        _log.log.setLevel(logging.DEBUG)
        try:
            with self.assertRaises(PipeTimeoutError):
                connect(name, timeout=0.2)
        finally:
            _log.log.removeHandler(capture)
            _log.log.setLevel(level)
        events = [(r.npipes_event, r.npipes_event_id, r.levelno,
                   r.getMessage()) for r in capture.records
                  if getattr(r, 'npipes_event', None) == 'WaitingForServer']
        self.assertEqual(events, [('WaitingForServer', 12, logging.DEBUG,
                                   f"Waiting for a server on pipe '{name}'")])


if __name__ == '__main__':
    unittest.main()
