"""Processes for the conformance matrix: the two CLIs as servers and clients,
and the hostile peers of conformance_peers.py run as another OS user.

Every process is bounded (BOUND seconds, then SIGKILL and a failure); output
is collected line by line as it comes, so a server's readiness is its
"serving" line (or, for a server that prints none, its socket answering).
"""

import argparse
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

from tests import support
from tests import conformance_peers as peers

BOUND = 20.0            # no process of the matrix runs longer than this
CLIENT_TIMEOUT = 5      # --timeout of a client that must fail at once
EXIT_TIMEOUT = 3        # both CLIs' exit code for a timeout
LANGS = ('dotnet', 'python')
OTHER_PYTHON = '/usr/bin/python3'   # runnable by any user (pyenv's is in /root)
HERE = Path(__file__).resolve().parent


def temp_dir():
    """docs/unix-endpoint.md §2: $TMPDIR if set and not empty (ending in
    '/'), else /tmp/."""
    tmp = os.environ.get('TMPDIR') or '/tmp/'
    return tmp if tmp.endswith('/') else tmp + '/'


def pipe_path(name):
    return temp_dir() + 'CoreFxPipe_' + name


class Proc:
    """A child process; its stdout and stderr lines are collected as they come."""

    def __init__(self, argv, *, stdin=False, env=None, cwd=None, lang=None):
        self.argv = [str(a) for a in argv]
        self.lang = lang
        self._p = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            encoding='utf-8', errors='replace', cwd=cwd,
            env=support.child_env() if env is None else env)
        self.out, self.err = [], []
        self.killed = False
        self._cond = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(f, lines),
                                          daemon=True)
                         for f, lines in ((self._p.stdout, self.out),
                                          (self._p.stderr, self.err))]
        for t in self._readers:
            t.start()

    def _read(self, f, lines):
        with f:
            for line in f:
                with self._cond:
                    lines.append(line.rstrip('\n'))
                    self._cond.notify_all()

    @property
    def returncode(self):
        return self._p.poll()

    def wait_line(self, timeout=BOUND):
        """The first stdout line (None if stdout ends or *timeout* passes)."""
        with self._cond:
            self._cond.wait_for(lambda: self.out or not self._readers[0]
                                .is_alive(), timeout)
            return self.out[0] if self.out else None

    def watch(self, condition, timeout=BOUND, interval=0.01):
        """Poll until the process exits ('exited'), *condition()* holds
        ('condition') or *timeout* passes ('bound')."""
        end = time.monotonic() + timeout
        while True:
            if self._p.poll() is not None:
                return 'exited'
            if condition():
                return 'condition'
            if time.monotonic() > end:
                return 'bound'
            time.sleep(interval)

    def finish(self, timeout=BOUND):
        """Wait for the exit (SIGKILL after *timeout*); return the exit code."""
        try:
            self._p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        for t in self._readers:
            t.join(5)
        if self._p.stdin is not None:
            self._p.stdin.close()
        return self._p.returncode

    def kill(self):
        if self._p.poll() is None:
            self.killed = True
            self._p.kill()
            self._p.wait(5)

    def stop(self, timeout=BOUND):
        """SIGTERM, then finish; return the exit code."""
        if self._p.poll() is None:
            self._p.send_signal(signal.SIGTERM)
        return self.finish(timeout)

    def close_stdin(self):
        """For a peer that runs until its standard input ends."""
        self._p.stdin.close()

    def describe(self):
        state = ('killed by the test' if self.killed
                 else f'exit {self._p.poll()}')
        shown = ' '.join(a if len(a) < 60 else a[:20] + '...'
                         for a in self.argv[-7:])
        return (f'`{shown}`: {state}; stdout '
                f'{self.out[-5:]!r}; stderr {self.err[-5:]!r}')


def _dotnet():
    cli, reason = support.dotnet_cli()
    if cli is None:
        raise unittest.SkipTest(reason)
    return cli


def _python_cli_has(command):
    from npipes.__main__ import _parser
    sub = next(a for a in _parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    return command in sub.choices


def server(lang, name):
    """The echo server of *lang* on pipe *name* (no timeout: it serves)."""
    if lang == 'dotnet':
        return Proc([*_dotnet(), 'echo', name], lang=lang)
    return Proc([sys.executable, '-m', 'npipes', 'echo', name], lang=lang)


def client(lang, verb, name, text='hello', timeout=CLIENT_TIMEOUT):
    """A client of *lang*: verb 'request' (persistent-connection client),
    'send' or 'receive' (Ipc rendezvous)."""
    args = [verb, name] + ([] if verb == 'receive' else [text]) + \
        ['--timeout', timeout]
    if lang == 'dotnet':
        return Proc([*_dotnet(), *args])
    if verb == 'request' and not _python_cli_has('request'):
        # The Python CLI has no request command yet: the same call
        # (npipes.connect(...).request(...)) with the CLI's exit codes.
        return Proc([sys.executable, HERE / 'conformance_request.py',
                     *args[1:]])
    return Proc([sys.executable, '-m', 'npipes', *args])


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def serving(proc):
    """True once *proc* printed its "serving" line (``npipes echo`` does)."""
    return any('serving' in line for line in proc.out)


def wait_serving(proc, path):
    """Until the server *proc* serves *path*: its "serving" line (printed
    once it is all set up), or, from the Python CLI, which prints none, a
    socket at *path* that accepts (it publishes the file already listening
    and 0600). Raises AssertionError if it exits first or BOUND passes."""
    how = proc.watch(lambda: serving(proc) or (
        proc.lang == 'python' and is_socket(path) and peers.accepts(path)))
    if how != 'condition':
        proc.kill()
        raise AssertionError(f'server never served {path}: '
                             f'{proc.describe()}')


# -- another OS user ----------------------------------------------------------

_user_lock = threading.Lock()
_user = []


def other_user():
    """(uid, gid) of a second account ('nobody', or one made with useradd),
    or SkipTest saying why there can be none."""
    if os.geteuid() != 0:
        raise unittest.SkipTest('a second OS user needs root to switch to '
                                f'(running as uid {os.geteuid()})')
    if shutil.which('setpriv') is None or not os.access(OTHER_PYTHON,
                                                        os.X_OK):
        raise unittest.SkipTest(f'needs setpriv and {OTHER_PYTHON} to run a '
                                'peer as another user')
    if os.stat(temp_dir()).st_mode & 0o1003 != 0o1003:
        raise unittest.SkipTest(f'{temp_dir()} is not a sticky directory '
                                'other users can write to')
    with _user_lock:
        if not _user:
            _user.append(_find_or_create_user())
    return _user[0]


def _find_or_create_user():
    for name in ('nobody', 'npipes-test'):
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            pass
    subprocess.run(['useradd', '-M', '-r', '-s', '/usr/sbin/nologin',
                    'npipes-test'], check=True, timeout=BOUND)
    entry = pwd.getpwnam('npipes-test')
    return entry.pw_uid, entry.pw_gid


def as_other_user(role, path):
    """conformance_peers.py's *role* on *path*, run as the other user (its
    source is passed with -c: the other user may not read this tree)."""
    uid, gid = other_user()
    source = (HERE / 'conformance_peers.py').read_text(encoding='utf-8')
    return Proc(['setpriv', f'--reuid={uid}', f'--regid={gid}',
                 '--clear-groups', OTHER_PYTHON, '-c', source, role, path],
                stdin=True, cwd='/',
                env={'PATH': '/usr/bin:/bin', 'LC_ALL': 'C.UTF-8'})
