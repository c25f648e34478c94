"""docs/unix-endpoint.md §4, §5, §9: claiming a name without touching
process-wide state, proving a socket file stale by what it does, and
releasing only the file we made."""

import os
import shutil
import socket
import stat
import tempfile
import threading
import time
import unittest
from unittest import mock

from tests import support
from npipes import _unix, _unixknock, transport
from npipes.connection import connect
from npipes.errors import PipeNameInUseError
from npipes.ipc import IPC
from npipes.listener import Listener

T = 10


@unittest.skipUnless(support.IS_UNIX, 'Unix socket files')
class ClaimTests(unittest.TestCase):

    def setUp(self):
        # A temp dir of our own: what appears in it is only ours.
        self.tmp = tempfile.mkdtemp()
        os.chmod(self.tmp, 0o1777)
        self.addCleanup(shutil.rmtree, self.tmp)
        patch = mock.patch.dict(os.environ, {'TMPDIR': self.tmp})
        patch.start()
        self.addCleanup(patch.stop)
        self.name = support.pipe_name()
        self.path = transport.pipe_address(self.name)

    def exchange(self, text='hello'):
        got = {}
        t = threading.Thread(target=lambda: got.setdefault(
            'r', IPC(self.name, timeout=T).receive_message()))
        t.start()
        self.assertTrue(IPC(self.name, timeout=T).send_message(text))
        t.join(T)
        self.assertEqual(got.get('r'), text)

    def test_a_path_that_keeps_changing_ends_the_claim_after_64_turns(self):
        # §4.2: link() finds the path taken on every turn (something keeps
        # appearing there); the claim gives up with a typed error, no hang.
        turns = []

        def taken(*args, **kwargs):
            turns.append(1)
            raise FileExistsError(17, 'File exists')
        with mock.patch.object(_unix, '_publish', taken), \
                mock.patch.object(_unix, 'backoff',
                                  lambda *a, **k: iter(lambda: None, 1)):
            with self.assertRaisesRegex(PipeNameInUseError,
                                        'kept appearing and disappearing'):
                _unix.Server.create(self.name)
        self.assertEqual(len(turns), _unix.CLAIM_TURNS)
        self.assertEqual(_unix.CLAIM_TURNS, 64)

    def test_no_umask_change(self):
        with mock.patch('os.umask', side_effect=AssertionError(
                'os.umask is process-wide: other threads would create '
                'files with the wrong mode')):
            with Listener(self.name) as lis:
                self.assertEqual(stat.S_IMODE(os.lstat(lis.address).st_mode),
                                 0o600)
            self.exchange()

    def test_mode_is_right_under_any_umask(self):
        old = os.umask(0o000)                   # the loosest possible
        try:
            with Listener(self.name) as lis:
                self.assertEqual(stat.S_IMODE(os.lstat(lis.address).st_mode),
                                 0o600)
            name = support.pipe_name()
            with Listener(name, allow_other_users=True) as lis:
                self.assertEqual(stat.S_IMODE(os.lstat(lis.address).st_mode),
                                 0o666)
        finally:
            os.umask(old)

    def test_only_the_pipe_file_is_left_in_the_temp_dir(self):
        with Listener(self.name):
            self.assertEqual(os.listdir(self.tmp), [os.path.basename(self.path)])
        self.assertEqual(os.listdir(self.tmp), [])
        self.exchange()
        self.assertEqual(os.listdir(self.tmp), [])

    def test_private_path_too_long_binds_in_place(self):
        # A temp dir so long that <dir>/.npipes-XXXXXXXX/s exceeds AF_UNIX's
        # limit while the pipe path itself fits (§4.3's fallback).
        limit = _unix._LIMIT
        name = 'n'                 # the pipe path: <deep>/CoreFxPipe_n
        room = limit - len(self.tmp) - len('//CoreFxPipe_n') - 1
        deep = os.path.join(self.tmp, 'd' * room)
        os.mkdir(deep)
        with mock.patch.dict(os.environ, {'TMPDIR': deep}):
            path = transport.pipe_address(name)
            self.assertGreater(len(os.fsencode(os.path.join(
                deep, '.npipes-12345678', 's'))), limit)
            with Listener(name) as lis, connect(name, timeout=T) as c, \
                    lis.accept(timeout=T) as s:
                self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o600)
                c.send('deep')
                self.assertEqual(s.recv_text(timeout=T), 'deep')
            self.assertEqual(os.listdir(deep), [])

    def test_stale_is_two_refusals_50ms_apart_on_the_same_file(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.close()
        refusals, real = [], _unix.knock

        def knock(path):
            result = real(path)
            if result.status == _unixknock.REFUSED:
                refusals.append((time.monotonic(), _unixknock.ident(result.st)))
            return result
        with mock.patch.object(_unix, 'knock', knock):
            with Listener(self.name) as lis:
                self.assertTrue(stat.S_ISSOCK(os.lstat(lis.address).st_mode))
        self.assertEqual(len(refusals), 2)
        (t1, id1), (t2, id2) = refusals
        self.assertEqual(id1, id2)
        self.assertGreaterEqual(t2 - t1, 0.05)

    def test_a_file_replaced_between_the_probes_is_not_removed(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.close()
        live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(live.close)
        real, successor = _unix.knock, []

        def knock(path):
            result = real(path)
            if result.status == _unixknock.REFUSED and not successor:
                os.unlink(path)                 # a successor takes the name
                live.bind(path)
                live.listen(4)
                successor.append(os.lstat(path).st_ino)
            return result
        with mock.patch.object(_unix, 'knock', knock):
            with self.assertRaises(PipeNameInUseError):
                Listener(self.name)
        self.assertEqual(os.lstat(self.path).st_ino, successor[0])
        live.settimeout(T)
        probe, _ = live.accept()                 # the refused claim's probe
        probe.close()

    def test_live_server_is_never_taken_over(self):
        with Listener(self.name) as first:
            ino = os.lstat(self.path).st_ino
            for allow in (False, True):
                with self.assertRaises(PipeNameInUseError):
                    Listener(self.name, allow_other_users=allow)
            self.assertEqual(os.lstat(self.path).st_ino, ino)
            self.assertEqual(stat.S_IMODE(os.lstat(self.path).st_mode), 0o600)
            with connect(self.name, timeout=T) as c:
                with first.accept(timeout=T) as probe:   # the refused claims'
                    pass
                with first.accept(timeout=T) as probe:   # probes come first
                    pass
                with first.accept(timeout=T) as s:
                    c.send('still mine')
                    self.assertEqual(s.recv_text(timeout=T), 'still mine')

    def test_release_removes_only_our_own_file(self):
        first = Listener(self.name)
        os.unlink(self.path)                     # someone removed it ...
        successor = Listener(self.name)          # ... and took the name
        ino = os.lstat(self.path).st_ino
        first.close()
        self.assertEqual(os.lstat(self.path).st_ino, ino)
        with connect(self.name, timeout=T) as c, \
                successor.accept(timeout=T) as s:
            c.send('successor')
            self.assertEqual(s.recv_text(timeout=T), 'successor')
        successor.close()
        self.assertFalse(os.path.lexists(self.path))

    def test_release_leaves_a_replacement_that_is_not_a_socket(self):
        lis = Listener(self.name)
        os.unlink(self.path)
        with open(self.path, 'w') as f:
            f.write('user data')
        lis.close()
        with open(self.path) as f:
            self.assertEqual(f.read(), 'user data')


if __name__ == '__main__':
    unittest.main()
