"""docs/unix-endpoint.md §5-§6 with a second OS user: no other user's
server gets a byte from any client path, no other user's client gets into
a server, and no other user's file is removed."""

import os
import socket
import threading
import unittest
from unittest import mock

from tests import other_user, support
from npipes import _unix, transport
from npipes.access import UNKNOWN
from npipes._util import Deadline
from npipes.connection import Connection, connect
from npipes.errors import (ConnectionClosedError, PipeAccessError,
                           PipeNameInUseError, PipeTimeoutError)
from npipes.ipc import IPC
from npipes.listener import Listener
from npipes.message import encode_frame

T = 10
FORGED = encode_frame(b'forged by another user')

#: A client run as the other user; argv: pipe name, allow_other_users (0/1).
#: Prints the reply, or the name of the error it got.
CLIENT = r'''
import sys
from npipes.connection import connect
try:
    with connect(sys.argv[1], timeout=10,
                 allow_other_users=sys.argv[2] == "1") as c:
        print(c.request("from the other user", timeout=10))
except Exception as exc:
    print(type(exc).__name__)
'''


class SquatterTests(unittest.TestCase):
    """Another user listens at our pipe's path, mode 0777."""

    @classmethod
    def setUpClass(cls):
        cls.user = other_user.account()

    def squat(self, forged=b''):
        self.name = support.pipe_name()
        squatter = other_user.Squatter(self.user,
                                       transport.pipe_address(self.name),
                                       forged)
        self.addCleanup(squatter.__exit__)
        return squatter

    def assertRefused(self, call):
        with self.assertRaises(PipeAccessError) as cm:
            call()
        self.assertEqual(cm.exception.uid, self.user[0])
        self.assertIsInstance(cm.exception, PermissionError)

    def test_ipc_send_gives_it_nothing(self):
        squatter = self.squat()
        self.assertRefused(lambda: IPC(self.name, timeout=T)
                           .send_message('the secret'))
        self.assertEqual(squatter.counts(), [0])

    def test_ipc_send_never_resends_to_a_squatter_that_writes_back(self):
        squatter = self.squat(FORGED)
        ipc = IPC(self.name, timeout=T, raise_errors=False)
        self.assertIs(ipc.send_message('the secret'), False)
        self.assertIsInstance(ipc.last_error, PipeAccessError)
        self.assertEqual(squatter.counts(), [0])      # one try, no byte

    def test_ipc_receive_never_returns_its_forged_frame(self):
        squatter = self.squat(FORGED)
        self.assertRefused(lambda: IPC(self.name, timeout=T)
                           .receive_message())
        self.assertEqual(squatter.counts(), [0])

    def test_connect_and_request_give_it_nothing(self):
        squatter = self.squat(FORGED)

        def request():
            with connect(self.name, timeout=T) as conn:
                conn.request('the secret', timeout=T)
        self.assertRefused(request)
        self.assertRefused(lambda: Connection.connect(self.name, timeout=T))
        self.assertEqual(squatter.counts(), [0, 0])

    def test_rendezvous_gives_it_nothing(self):
        squatter = self.squat(FORGED)
        self.assertRefused(lambda: transport.rendezvous(self.name, Deadline(T)))
        self.assertEqual(squatter.counts(), [0])

    def test_opting_out_reaches_it(self):
        squatter = self.squat(FORGED)
        with connect(self.name, timeout=T, allow_other_users=True) as conn:
            self.assertEqual(conn.recv(timeout=T), b'forged by another user')
            conn.send('hello')
        self.assertEqual(squatter.counts(), [len(encode_frame(b'hello'))])


class OtherUserClientTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.user = other_user.account()

    def setUp(self):
        self.name = support.pipe_name()

    def run_client(self, allow=False):
        child = other_user.spawn_as(self.user, CLIENT, self.name, int(allow))
        code, out, err = support.finish(child)
        self.assertEqual(code, 0, err)
        return out.strip()

    def test_listener_drops_it_and_keeps_serving(self):
        errors = []
        with Listener(self.name, on_error=lambda c, e: errors.append(e)) as lis:
            os.chmod(lis.address, 0o666)   # as if an admin opened the mode
            got = {}
            t = threading.Thread(target=lambda: got.setdefault(
                'conn', lis.accept(timeout=T)))
            t.start()
            # The client lifts its own check; the server's check drops it.
            self.assertIn(self.run_client(allow=True),
                          ('ConnectionClosedError', 'ConnectionResetError'))
            self.assertEqual(lis.refused_peers, 1)
            with connect(self.name, timeout=T) as mine:
                t.join(T)
                with got['conn'] as conn:
                    mine.send('mine')
                    self.assertEqual(conn.recv_text(timeout=T), 'mine')
        self.assertEqual(errors, [])

    def test_a_0600_socket_is_an_access_error_at_once(self):
        with Listener(self.name):
            self.assertEqual(self.run_client(), 'PipeAccessError')

    def test_ipc_server_drops_it(self):
        got = {}
        t = threading.Thread(target=lambda: got.setdefault(
            'text', IPC(self.name, timeout=T).receive_message()))
        t.start()
        path = transport.pipe_address(self.name)
        support.wait_for_path(path)
        os.chmod(path, 0o666)
        self.assertIn(self.run_client(allow=True),
                      ('ConnectionClosedError', 'ConnectionResetError'))
        self.assertTrue(IPC(self.name, timeout=T).send_message('mine'))
        t.join(T)
        self.assertEqual(got['text'], 'mine')


class UnknownUidTests(unittest.TestCase):
    """§6: a peer uid that cannot be read is a refusal, on both sides."""

    @unittest.skipUnless(support.IS_UNIX, 'Unix socket behaviour')
    def test_unknown_uid_is_refused(self):
        name = support.pipe_name()
        with Listener(name) as lis:
            with mock.patch.object(_unix, 'peer_identity',
                                   return_value=UNKNOWN):
                with self.assertRaises(PipeAccessError):
                    connect(name, timeout=T)            # client side
                with connect(name, timeout=T, allow_other_users=True) as c:
                    with self.assertRaises(PipeTimeoutError):
                        lis.accept(timeout=0.5)         # drops both
                    with self.assertRaises(ConnectionClosedError):
                        c.recv(timeout=T)
            self.assertEqual(lis.refused_peers, 2)


class OtherUsersStaleFileTests(unittest.TestCase):

    @unittest.skipUnless(support.IS_UNIX and os.geteuid() == 0,
                         'needs root to give a file to another user')
    def test_another_users_stale_socket_is_never_removed(self):
        uid, gid = other_user.account()
        name = support.pipe_name()
        path = transport.pipe_address(name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()                               # nobody listens: stale
        os.chown(path, uid, gid)
        self.addCleanup(os.unlink, path)
        ino = os.lstat(path).st_ino
        with self.assertRaisesRegex(PipeNameInUseError, f'uid {uid}'):
            Listener(name)
        with self.assertRaises(PipeNameInUseError):
            IPC(name, timeout=T).send_message('x')
        self.assertEqual(os.lstat(path).st_ino, ino)


if __name__ == '__main__':
    unittest.main()
