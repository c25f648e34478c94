"""Helpers shared by the tests: pipe names, child processes, paths."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import unittest
import uuid
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]          # <repo>/python
REPO = PYTHON_DIR.parent
CHILD_TIMEOUT = 20          # seconds; a hung child fails the test, not the run

if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

from npipes import transport  # noqa: E402

IS_UNIX = transport.PLATFORM == 'unix'


def pipe_name():
    """A fresh random pipe name for one test."""
    return f'npt_{uuid.uuid4().hex[:12]}'


VECTORS = REPO / 'tests' / 'vectors' / 'npipes-1.0.1-frames.json'


def shared_vectors():
    """The reference copy of VECTORS in ``<repo>/../shared`` (or
    $NPIPES_SHARED); None if there is none."""
    for candidate in (os.environ.get('NPIPES_SHARED'), REPO.parent / 'shared'):
        if candidate and Path(candidate, 'vectors', VECTORS.name).is_file():
            return Path(candidate, 'vectors', VECTORS.name)
    return None


def load_vectors():
    """The npipes 1.0.1 frame vectors: the repository's own copy."""
    with open(VECTORS, encoding='utf-8') as f:
        return json.load(f)['cases']


def child_env():
    env = dict(os.environ)
    # A Python child that hangs prints every thread's stack on SIGABRT
    # (finish() sends it before the kill), so a hang in CI says where.
    env['PYTHONFAULTHANDLER'] = '1'
    env['PYTHONPATH'] = os.pathsep.join(
        [str(PYTHON_DIR)] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    return env


def spawn_python(code, *args, stdin=None):
    """Start ``python -c code args...`` with npipes importable."""
    return subprocess.Popen([sys.executable, '-c', code, *map(str, args)],
                            stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env())


def spawn_cli(*args):
    """Start ``python -m npipes args...``."""
    return subprocess.Popen([sys.executable, '-m', 'npipes', *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env())


def finish(proc, timeout=CHILD_TIMEOUT):
    """Wait for *proc*; return (returncode, stdout, stderr); kill if hung."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'child {proc.args} hung for {timeout} s; '
                             f'stderr: {kill_hung(proc)!r}') from None
    return proc.returncode, out, err


def kill_hung(proc):
    """Kill *proc*, which hung; return what it left on stderr, ended.  On
    Unix it is sent SIGABRT first: a Python child (PYTHONFAULTHANDLER,
    child_env) then writes every thread's stack there.  If its pipes stay
    open after it died, another process holds them: said so, not waited
    for."""
    if IS_UNIX and proc.poll() is None:
        proc.send_signal(signal.SIGABRT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.kill()
    try:
        _, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired as exc:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        return (f'(exit code {proc.wait()}; its stdout or stderr is still '
                f'held open by another process) ' + str(exc.stderr or '')[-6000:])
    return f'(exit code {proc.returncode}) ' + str(err or '')[-6000:]


def join(thread, timeout=CHILD_TIMEOUT):
    """Join *thread*; fail the test if it is still running after *timeout*."""
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f'thread {thread.name} still running after {timeout} s')


def wait_for_path(path, proc=None, timeout=CHILD_TIMEOUT):
    """Wait until *path* exists (a server is listening there).

    Not a sleep-as-synchronisation: it polls for the condition and fails
    if the child dies or the time runs out.
    """
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f'child exited early: {finish(proc)}')
        if time.monotonic() > end:
            raise AssertionError(f'{path} did not appear')
        time.sleep(0.005)


def serve_raw(name, frame, timeout=CHILD_TIMEOUT):
    """Serve pipe *name* once in a thread: accept, write *frame* as is, close.

    For feeding a receiver bytes no well-behaved sender would write.
    Returns the started thread.
    """
    import threading
    from npipes._util import Deadline
    server = transport.Server.create(name)

    def serve():
        try:
            stream = server.accept(Deadline(timeout))
            stream.send(frame, Deadline(timeout))
            stream.close()
        finally:
            server.close()
    t = threading.Thread(target=serve)
    t.start()
    return t


def dotnet_cli():
    """The .NET CLI command prefix, or (None, reason)."""
    env = os.environ.get('NPIPES_CLI')
    if env:
        return shlex.split(env), None
    for config in ('Release', 'Debug'):
        for dll_name in ('npipes.dll', 'NPipes.Cli.dll'):
            dll = REPO / 'src' / 'NPipes.Cli' / 'bin' / config / 'net10.0' / dll_name
            if dll.is_file():
                return ['dotnet', str(dll)], None
    return None, ('.NET CLI not found: set NPIPES_CLI or build src/NPipes.Cli '
                  '(bin/Release|Debug/net10.0/npipes.dll or NPipes.Cli.dll)')
