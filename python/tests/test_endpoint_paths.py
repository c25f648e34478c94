"""docs/unix-endpoint.md §3: whatever is at the pipe's path that is not a
socket gives PipePathOccupiedError at once, on every path in, and is left
exactly as it was (never opened, followed, deleted or chmod-ed)."""

import os
import socket
import stat
import threading
import unittest

from tests import support
from npipes import transport
from npipes._util import Deadline
from npipes.connection import Connection, connect
from npipes.errors import PipePathOccupiedError, PipeTimeoutError
from npipes.ipc import IPC
from npipes.listener import Listener

T = 10


def entry_points(name):
    """Every way into a pipe, each with no timeout: none may wait."""
    return {
        'Listener': lambda: Listener(name).close(),
        'connect': lambda: connect(name).close(),
        'Connection.connect': lambda: Connection.connect(name).close(),
        'IPC.send_message': lambda: IPC(name).send_message('secret'),
        'IPC.receive_message': lambda: IPC(name).receive_message(),
        'rendezvous': lambda: transport.rendezvous(name, Deadline(None)),
    }


def bounded(call):
    """Run *call* in a thread; return what it raised (None if nothing).

    Fails the test if it is still running after T seconds: the call
    waited (or spun) on a path it should have refused at once.
    """
    out = {}

    def run():
        try:
            call()
        except BaseException as exc:
            out['exc'] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(T)
    if t.is_alive():
        raise AssertionError('still waiting on the path after '
                             f'{T} s: it should have failed at once')
    return out.get('exc')


def snapshot(path):
    """What is at *path*, in enough detail to see any change."""
    st = os.lstat(path)
    shot = (st.st_ino, st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns,
            st.st_nlink)
    if stat.S_ISLNK(st.st_mode):
        shot += (os.readlink(path),)
    elif stat.S_ISDIR(st.st_mode):
        shot += (sorted(os.listdir(path)),)
    elif stat.S_ISREG(st.st_mode):
        with open(path, 'rb') as f:
            shot += (f.read(),)
    return shot


@unittest.skipUnless(support.IS_UNIX, 'Unix socket files')
class OccupiedPathTests(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()
        self.path = transport.pipe_address(self.name)
        self.addCleanup(self._remove, self.path)

    @staticmethod
    def _remove(path):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            for entry in os.listdir(path):
                os.unlink(os.path.join(path, entry))
            os.rmdir(path)
        else:
            os.unlink(path)

    def check(self, kind, extra=()):
        """Every entry point refuses at once; nothing at the path changes
        (nor at the *extra* paths, e.g. a symlink's target)."""
        watched = [self.path, *extra]
        before = [snapshot(p) for p in watched]
        for label, call in entry_points(self.name).items():
            with self.subTest(entry=label):
                exc = bounded(call)
                self.assertIsInstance(exc, PipePathOccupiedError, repr(exc))
                self.assertEqual((exc.path, exc.kind), (self.path, kind))
                self.assertIn(self.path, str(exc))
                self.assertIn(kind, str(exc))
        self.assertEqual([snapshot(p) for p in watched], before)

    def target(self, suffix):
        path = self.path + suffix
        self.addCleanup(self._remove, path)
        return path

    def test_dangling_symlink(self):
        os.symlink(self.target('.missing'), self.path)
        self.check('symbolic link')
        self.assertFalse(os.path.lexists(self.path + '.missing'))

    def test_symlink_loop(self):
        os.symlink(self.path, self.path)                  # points at itself
        self.check('symbolic link')

    def test_symlink_to_a_regular_file(self):
        target = self.target('.data')
        with open(target, 'w') as f:
            f.write('precious')
        os.chmod(target, 0o640)
        os.symlink(target, self.path)
        self.check('symbolic link', extra=[target])

    def test_symlink_to_a_live_socket_of_ours_is_not_followed(self):
        other = support.pipe_name()
        with Listener(other) as live:
            os.symlink(live.address, self.path)
            self.check('symbolic link', extra=[live.address])
            with self.assertRaises(PipeTimeoutError):
                live.accept(timeout=0.2)         # nobody reached it

    def test_fifo(self):
        os.mkfifo(self.path, 0o600)
        self.check('FIFO')

    def test_directory(self):
        os.mkdir(self.path)
        with open(os.path.join(self.path, 'inside'), 'w') as f:
            f.write('kept')
        self.check('directory')

    def test_regular_file(self):
        with open(self.path, 'w') as f:
            f.write('a user file')
        os.chmod(self.path, 0o644)
        self.check('regular file')

    @unittest.skipUnless(hasattr(os, 'geteuid') and os.geteuid() == 0,
                         'mknod of a device needs root')
    def test_character_device(self):
        os.mknod(self.path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        self.check('character device')

    def test_a_socket_is_not_occupied(self):
        # The rule is about other kinds of file: a stale socket of ours is
        # reclaimed (§5), not refused.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.close()
        with Listener(self.name) as lis:
            self.assertTrue(stat.S_ISSOCK(os.lstat(lis.address).st_mode))


if __name__ == '__main__':
    unittest.main()
