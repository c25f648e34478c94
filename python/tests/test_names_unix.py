"""Pipe names, socket paths, stale sockets, live names, permissions (Unix)."""

import os
import signal
import socket
import stat
import threading
import unittest
from unittest import mock

from tests import support
from npipes import transport
from npipes.connection import connect
from npipes.errors import (ConnectionClosedError, PipeNameError,
                           PipeNameInUseError, PipePathOccupiedError)
from npipes.ipc import IPC
from npipes.listener import Listener

T = 10
unix_only = unittest.skipUnless(support.IS_UNIX, 'Unix socket behaviour')

HOLDER = '''
import sys
from npipes.listener import Listener
l = Listener(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
'''

FOREIGN = '''
import os, sys
from npipes.connection import connect           # import before dropping root
from npipes.errors import ConnectionClosedError
os.setgid(65534); os.setuid(65534)
# The client lifts its own check (the server is root): this tests the server's.
c = connect(sys.argv[1], timeout=10, allow_other_users=True)
try:
    print(c.request("from nobody", timeout=10))
except ConnectionClosedError:
    print("dropped")
'''


class NameTests(unittest.TestCase):

    def test_invalid_names(self):
        for bad in ('', 'a/b', 'a\\b', 'a\0b', '/', 'anonymous', None):
            with self.subTest(bad=bad):
                with self.assertRaises(PipeNameError) as cm:
                    transport.pipe_address(bad)
                self.assertIsInstance(cm.exception, ValueError)

    def test_valid_names(self):
        for good in ('IPC_PIPE_DEFAULT', 'with space', 'ünïcode', 'a.b-c'):
            with self.subTest(good=good):
                self.assertTrue(transport.pipe_address(good).endswith(good))

    @unix_only
    def test_socket_path_follows_dotnet_temp_dir(self):
        for tmpdir, expected in (('/var/tmp', '/var/tmp/CoreFxPipe_x'),
                                 ('/var/tmp/', '/var/tmp/CoreFxPipe_x'),
                                 ('', '/tmp/CoreFxPipe_x'),
                                 (None, '/tmp/CoreFxPipe_x')):
            with self.subTest(tmpdir=tmpdir):
                env = {k: v for k, v in os.environ.items() if k != 'TMPDIR'}
                if tmpdir is not None:
                    env['TMPDIR'] = tmpdir
                with mock.patch.dict(os.environ, env, clear=True):
                    self.assertEqual(transport.pipe_address('x'), expected)

    @unix_only
    def test_socket_path_too_long(self):
        with mock.patch.dict(os.environ, {'TMPDIR': '/tmp/'}):
            limit = 107 if os.uname().sysname == 'Linux' else 103
            fits = 'n' * (limit - len('/tmp/CoreFxPipe_'))
            self.assertEqual(len(transport.pipe_address(fits)), limit)
            with self.assertRaisesRegex(PipeNameError, f'at most {limit} bytes'):
                transport.pipe_address(fits + 'n')
            with self.assertRaises(PipeNameError):        # bytes, not chars
                transport.pipe_address(fits[:-1] + 'é')
            with self.assertRaises(PipeNameError):
                Listener(fits + 'n')


@unix_only
class SocketFileTests(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()
        self.path = transport.pipe_address(self.name)
        self.addCleanup(self._remove)

    def _remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def make_stale(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.close()                              # file stays, nobody listens
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.path).st_mode))

    def exchange(self, text='over stale'):
        rx = IPC(self.name, timeout=T)
        got = {}
        t = threading.Thread(target=lambda: got.setdefault('r', rx.receive_message()))
        t.start()
        self.assertTrue(IPC(self.name, timeout=T).send_message(text))
        t.join(T)
        self.assertEqual(got['r'], text)

    def test_stale_socket_recovered_by_ipc(self):
        self.make_stale()
        self.exchange()
        self.assertFalse(os.path.exists(self.path))

    def test_stale_socket_recovered_by_listener(self):
        self.make_stale()
        with Listener(self.name) as listener:
            with connect(self.name, timeout=T) as c, listener.accept(timeout=T) as s:
                c.send('hi')
                self.assertEqual(s.recv_text(timeout=T), 'hi')
        self.assertFalse(os.path.exists(self.path))

    def test_server_between_bind_and_listen_is_not_stale(self):
        # .NET binds, sets the mode, then listens: a refused connect to a
        # file whose server listens before the second probe (50 ms later)
        # must not get it unlinked.
        from npipes import _unix, _unixknock
        from npipes.connection import Connection
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(srv.close)
        srv.bind(self.path)
        ino = os.lstat(self.path).st_ino
        real_knock, listening = _unix.knock, threading.Event()

        def knock(path):
            result = real_knock(path)
            if result.status == _unixknock.REFUSED and not listening.is_set():
                srv.listen(4)            # the server comes alive meanwhile
                listening.set()
            return result
        got = {}
        with mock.patch.object(_unix, 'knock', knock):
            t = threading.Thread(target=lambda: got.setdefault(
                'ok', IPC(self.name, timeout=T).send_message('patience')))
            t.start()
            self.assertTrue(listening.wait(T))
            srv.settimeout(T)
            for _ in range(3):       # the stale check's probe comes first
                with Connection(_unix.Stream(srv.accept()[0])) as conn:
                    try:
                        self.assertEqual(conn.recv_text(timeout=T), 'patience')
                        break
                    except ConnectionClosedError:
                        continue
            t.join(T)
        self.assertIs(got['ok'], True)
        self.assertEqual(os.lstat(self.path).st_ino, ino)

    def test_socket_left_by_killed_process(self):
        import subprocess
        p = support.spawn_python(HOLDER, self.name, stdin=subprocess.PIPE)
        self.assertEqual(p.stdout.readline(), 'ready\n')
        p.send_signal(signal.SIGKILL)
        support.finish(p)
        self.assertTrue(os.path.exists(self.path))           # left behind
        self.exchange('after kill')

    def test_live_name_not_stolen(self):
        with Listener(self.name) as first:
            ino = os.lstat(self.path).st_ino
            with self.assertRaises(PipeNameInUseError):
                Listener(self.name)
            self.assertEqual(os.lstat(self.path).st_ino, ino)
            # The probe made by the refused Listener reached the live one.
            with first.accept(timeout=T) as probe:
                with self.assertRaises(ConnectionClosedError):
                    probe.recv(timeout=T)
            # IPC finds the live server and connects to it as a client.
            got = {}
            t = threading.Thread(target=lambda: got.setdefault(
                'ok', IPC(self.name, timeout=T).send_message('to live')))
            t.start()
            with first.accept(timeout=T) as conn:
                self.assertEqual(conn.recv_text(timeout=T), 'to live')
            t.join(T)
            self.assertIs(got['ok'], True)
            self.assertEqual(os.lstat(self.path).st_ino, ino)

    def test_one_shot_server_whose_file_is_replaced_reconnects(self):
        # .NET's NamedPipeServerStream unlinks the path before binding; a
        # waiting IPC server that loses its file must find the new server.
        got = {}
        t = threading.Thread(target=lambda: got.setdefault(
            'ok', IPC(self.name, timeout=T).send_message('found you')))
        t.start()
        support.wait_for_path(self.path)
        os.unlink(self.path)                    # what .NET would do ...
        with Listener(self.name) as thief:      # ... then bind + listen
            with thief.accept(timeout=T) as conn:
                self.assertEqual(conn.recv_text(timeout=T), 'found you')
            t.join(T)
            self.assertIs(got['ok'], True)
            self.assertTrue(os.path.exists(self.path))   # not removed by IPC

    def test_not_a_socket_is_left_alone(self):
        with open(self.path, 'w') as f:
            f.write('not a socket')
        with self.assertRaises(PipePathOccupiedError):
            Listener(self.name)
        with self.assertRaises(PipePathOccupiedError):
            IPC(self.name, timeout=T).send_message('x')
        with open(self.path) as f:
            self.assertEqual(f.read(), 'not a socket')

    def test_mode_0600(self):
        with Listener(self.name):
            self.assertEqual(stat.S_IMODE(os.lstat(self.path).st_mode), 0o600)
        # and the one-shot server made by IPC
        t = threading.Thread(target=IPC(self.name, timeout=T).send_message,
                             args=('m',))
        t.start()
        support.wait_for_path(self.path)
        self.assertEqual(stat.S_IMODE(os.lstat(self.path).st_mode), 0o600)
        self.assertEqual(IPC(self.name, timeout=T).receive_message(), 'm')
        t.join(T)

    def test_without_hard_links(self):
        import errno
        with mock.patch('os.link', side_effect=OSError(errno.EPERM, 'no')):
            with Listener(self.name) as listener:
                self.assertEqual(stat.S_IMODE(os.lstat(self.path).st_mode), 0o600)
                with connect(self.name, timeout=T) as c, \
                        listener.accept(timeout=T) as s:
                    c.send('linkless')
                    self.assertEqual(s.recv_text(timeout=T), 'linkless')
            self.exchange('linkless ipc')

    def test_allow_other_users_mode_0666(self):
        with Listener(self.name, allow_other_users=True):
            self.assertEqual(stat.S_IMODE(os.lstat(self.path).st_mode), 0o666)

    def test_umask_restored(self):
        old = os.umask(0o022)
        try:
            with Listener(self.name):
                pass
            self.assertEqual(os.umask(0o022), 0o022)
        finally:
            os.umask(old)

    @unittest.skipUnless(hasattr(socket, 'SO_PEERCRED') and os.getuid() == 0,
                         'needs Linux SO_PEERCRED and root (to run a child '
                         'as another uid)')
    def test_peer_of_other_uid_dropped(self):
        for allow, expected in ((False, 'dropped'), (True, 'from nobody')):
            with self.subTest(allow_other_users=allow):
                name = support.pipe_name()
                path = transport.pipe_address(name)
                with Listener(name, allow_other_users=allow) as listener:
                    os.chmod(path, 0o666)   # let the child reach the server
                    child = support.spawn_python(FOREIGN, name)
                    got = {}
                    t = threading.Thread(target=lambda: got.setdefault(
                        'conn', listener.accept(timeout=T)))
                    t.start()
                    if allow:
                        t.join(T)
                        with got['conn'] as conn:
                            conn.send(conn.recv(timeout=T), timeout=T)
                    code, out, err = support.finish(child)
                    self.assertEqual((code, out.strip()), (0, expected), err)
                    if not allow:
                        # accept() is still waiting: a same-user client gets in
                        with connect(name, timeout=T):
                            t.join(T)
                        got['conn'].close()


if __name__ == '__main__':
    unittest.main()
