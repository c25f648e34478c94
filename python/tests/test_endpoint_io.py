"""docs/unix-endpoint.md §10 and the package's error contract: a timeout
bounds the whole operation, a closed peer is ConnectionClosedError (never
SIGPIPE), and no raw OSError leaves the package."""

import errno
import os
import shutil
import struct
import tempfile
import threading
import unittest
from unittest import mock

from tests import support
from npipes import transport
from npipes._util import Deadline
from npipes.connection import Connection, connect
from npipes.errors import NPipesError, PipeOSError, PipeTimeoutError
from npipes.ipc import IPC
from npipes.listener import Listener

T = 10

#: With SIGPIPE at its default action (as many programs set it), a send to
#: a peer that closed must raise ConnectionClosedError, not kill us.
SIGPIPE_CHILD = r'''
import signal, sys, threading
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
from npipes.connection import connect
from npipes.errors import ConnectionClosedError
from npipes.ipc import IPC
from npipes.listener import Listener
name = sys.argv[1]
with Listener(name) as lis:
    c = connect(name, timeout=10)
    lis.accept(timeout=10).close()
    try:
        for _ in range(1000):          # the first writes may be buffered
            c.send(b"x" * 65536, timeout=10)
        print("no error")
    except ConnectionClosedError:
        print("ConnectionClosedError")
print("alive", flush=True)
'''


@unittest.skipUnless(support.IS_UNIX, 'Unix sockets')
class WholeOperationTimeoutTests(unittest.TestCase):

    def stalling_server(self, name, data):
        """Serve *name* once: write *data*, then hold the connection open
        until the returned event is set."""
        server = transport.Server.create(name)
        release = threading.Event()

        def serve():
            try:
                stream = server.accept(Deadline(T))
                stream.send(data, Deadline(T))
                release.wait(T)
                stream.close()
            finally:
                server.close()
        t = threading.Thread(target=serve)
        t.start()
        self.addCleanup(t.join, T)
        self.addCleanup(release.set)
        return release

    def test_ipc_receive_header_then_stall(self):
        name = support.pipe_name()
        release = self.stalling_server(name, struct.pack('>II', 13, 5) + b'He')
        with self.assertRaises(PipeTimeoutError):
            IPC(name, timeout=0.5).receive_message()
        self.assertFalse(release.is_set())   # the peer had not closed yet

    def test_connection_request_reply_stalls(self):
        name = support.pipe_name()
        release = self.stalling_server(name, struct.pack('>II', 13, 5))
        with connect(name, timeout=T) as conn:
            with self.assertRaises(PipeTimeoutError):
                conn.request(b'ping', timeout=0.5)
        self.assertFalse(release.is_set())


@unittest.skipUnless(support.IS_UNIX, 'SIGPIPE is Unix')
class SigpipeTests(unittest.TestCase):

    def test_closed_peer_is_an_error_not_a_signal(self):
        child = support.spawn_python(SIGPIPE_CHILD, support.pipe_name())
        code, out, err = support.finish(child)
        self.assertEqual((code, out.split()), (0, ['ConnectionClosedError',
                                                   'alive']), err)


@unittest.skipUnless(support.IS_UNIX, 'Unix paths')
class TypedOsErrorTests(unittest.TestCase):
    """OSErrors from the OS (ENOTDIR, ELOOP, ...) leave as npipes errors."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def calls(self, name):
        return {
            'Listener': lambda: Listener(name),
            'connect': lambda: connect(name, timeout=T),
            'Connection.connect': lambda: Connection.connect(name, timeout=T),
            'IPC.send_message': lambda: IPC(name, timeout=T).send_message('x'),
            'IPC.receive_message': lambda: IPC(name, timeout=T)
            .receive_message(),
        }

    def check(self, tmpdir, code, entries=None):
        with mock.patch.dict(os.environ, {'TMPDIR': tmpdir}):
            for label, call in self.calls(support.pipe_name()).items():
                if entries is not None and label not in entries:
                    continue
                with self.subTest(entry=label):
                    with self.assertRaises(NPipesError) as cm:
                        call()
                    self.assertIsInstance(cm.exception, PipeOSError)
                    self.assertIsInstance(cm.exception, OSError)
                    self.assertEqual(cm.exception.errno, code)

    def test_temp_dir_is_a_file(self):
        path = os.path.join(self.tmp, 'file')
        open(path, 'w').close()
        self.check(path, errno.ENOTDIR)

    def test_temp_dir_is_a_symlink_loop(self):
        loop = os.path.join(self.tmp, 'loop')
        os.symlink(loop, loop)
        self.check(loop, errno.ELOOP)

    def test_temp_dir_missing(self):
        # A client waits for a server to appear (§7); a server cannot claim.
        self.check(os.path.join(self.tmp, 'missing'), errno.ENOENT,
                   entries=('Listener', 'IPC.send_message',
                            'IPC.receive_message'))


if __name__ == '__main__':
    unittest.main()
