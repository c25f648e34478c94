"""A second OS account for the tests that prove "current user only".

CI runs as root, so these tests run a peer as 'nobody' (or a throwaway
system user 'npipes-test', created with useradd if 'nobody' is missing)
through ``setpriv``, with the system's /usr/bin/python3 (another user
cannot read root's home, where a pyenv Python may live).  Without root,
setpriv or that Python, the tests are skipped with the reason.
"""

import atexit
import json
import os
import pwd
import select
import shutil
import stat
import subprocess
import tempfile
import unittest

from tests import support
from npipes import _unix

SETPRIV = '/usr/bin/setpriv'
SYSTEM_PYTHON = '/usr/bin/python3'

#: A squatter: listens at argv[1] with mode 0777 (so anyone may connect),
#: writes argv[2] (hex; '' = nothing) to every client, then counts what the
#: client sends until it closes.  Prints "listening", and at the first line
#: on stdin (after taking every client still queued) a JSON list: the bytes
#: received from each client, in order.
SQUATTER = r'''
import json, os, select, socket, sys
path, forged = sys.argv[1], bytes.fromhex(sys.argv[2])
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
os.chmod(path, 0o777)
srv.listen(16)
print("listening", flush=True)
counts = []

def serve(conn):
    conn.settimeout(10)
    n = 0
    try:
        if forged:
            conn.sendall(forged)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            n += len(chunk)
    except OSError:
        pass
    conn.close()
    counts.append(n)

while True:
    ready, _, _ = select.select([srv, sys.stdin], [], [], 30)
    if not ready or sys.stdin in ready:
        break
    serve(srv.accept()[0])
srv.setblocking(False)
while True:                        # clients that connected before "stop"
    try:
        conn = srv.accept()[0]
    except BlockingIOError:
        break
    conn.setblocking(True)
    serve(conn)
print(json.dumps(counts), flush=True)
'''


def account():
    """(uid, gid) of the second account, or SkipTest with the reason."""
    if not support.IS_UNIX:
        raise unittest.SkipTest('Unix only')
    if os.geteuid() != 0:
        raise unittest.SkipTest(f'a second OS user needs root to switch to; '
                                f'running as uid {os.geteuid()}')
    for tool in (SETPRIV, SYSTEM_PYTHON):
        if not os.access(tool, os.X_OK):
            raise unittest.SkipTest(f'{tool} is needed to run a peer as '
                                    f'another user')
    tmp = os.stat(_unix.temp_dir())
    if stat.S_IMODE(tmp.st_mode) & 0o1777 != 0o1777:
        raise unittest.SkipTest(f'{_unix.temp_dir()} is not a shared sticky '
                                f'directory, so another user cannot make '
                                f'files in it')
    for name in ('nobody', 'npipes-test'):
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            pass
    subprocess.run(['useradd', '-M', '-r', '-s', '/usr/sbin/nologin',
                    'npipes-test'], check=True)
    entry = pwd.getpwnam('npipes-test')
    return entry.pw_uid, entry.pw_gid


_readable_copy = None


def readable_package():
    """A directory holding a copy of this checkout's npipes package that any
    user can read (0755 directories, 0644 files), made once and removed at
    exit: the checkout itself may sit in a folder the other user cannot
    enter (a clone inside a 0700 home)."""
    global _readable_copy
    if _readable_copy is None:
        root = tempfile.mkdtemp(prefix='npipes-other-user-')
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        shutil.copytree(support.PYTHON_DIR / 'npipes',
                        os.path.join(root, 'npipes'),
                        ignore=shutil.ignore_patterns('__pycache__'))
        for folder, dirs, files in os.walk(root):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        _readable_copy = root
    return _readable_copy


def spawn_as(user, code, *args, init_groups=False):
    """Run ``python3 -c code args`` as *user* (uid, gid), with its own
    readable copy of npipes importable (:func:`readable_package`); no
    supplementary groups, or with *init_groups* the account's own (from
    /etc/group, as a login gets them)."""
    uid, gid = user
    env = {'PATH': '/usr/bin:/bin', 'PYTHONPATH': readable_package(),
           'PYTHONDONTWRITEBYTECODE': '1'}
    if os.environ.get('TMPDIR'):
        env['TMPDIR'] = os.environ['TMPDIR']
    return subprocess.Popen(
        [SETPRIV, f'--reuid={uid}', f'--regid={gid}',
         '--init-groups' if init_groups else '--clear-groups',
         SYSTEM_PYTHON, '-c', code, *map(str, args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd='/')


def readline(proc, timeout=support.CHILD_TIMEOUT):
    """The child's next stdout line, waiting at most *timeout* seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise AssertionError(f'no output from the child; stderr: '
                             f'{proc.communicate()[1]!r}')
    return proc.stdout.readline().strip()


class Squatter:
    """Another user's server at a pipe's path (context manager); with
    *init_groups*, in that account's supplementary groups."""

    def __init__(self, user, path, forged=b'', init_groups=False):
        self.path = path
        self.proc = spawn_as(user, SQUATTER, path, forged.hex(),
                             init_groups=init_groups)
        line = readline(self.proc)
        if line != 'listening':
            raise AssertionError(f'squatter failed: {line!r} '
                                 f'{support.finish(self.proc)}')

    def counts(self):
        """Stop; return the bytes received from each client, in order."""
        self.proc.stdin.write('stop\n')
        self.proc.stdin.flush()
        code, out, err = support.finish(self.proc)
        if code != 0:
            raise AssertionError(f'squatter exited {code}: {err}')
        return json.loads(out)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
