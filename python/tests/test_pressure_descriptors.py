"""Servers that outlive descriptor exhaustion (docs/reliability.md section 6,
"Descriptor exhaustion"), as the .NET DescriptorExhaustionTests: a server
runs as a child under a lowered RLIMIT_NOFILE; this process opens idle
clients until the server has no descriptor left (or its default limit
refuses them), then proves that a client it already had is still served,
closes the idle ones and proves a new client is served.  Before, the
threaded Listener re-raised EMFILE (``python -m npipes echo`` exited with
"[Errno 24] Too many open files") and the asyncio one simply stopped.
"""

import json
import socket
import struct
import subprocess
import sys
import time
import unittest

from tests import support
from tests.conformance_peers import _read_exact, frame
from npipes import transport
from npipes._limits import DEFAULT_MAX_CONNECTIONS, max_connections_for, \
    open_files

# A child server: MODE (thread-echo, thread-rpc, aio-echo), NAME, MAX.  It
# prints 'ready', serves until SIGTERM, then prints its failed accepts.
CHILD = r'''
import asyncio, signal, sys
import npipes, npipes.aio, npipes.listener, npipes.rpc
mode, name, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == 'aio-echo':
    async def echo(conn):
        while True:
            await conn.send(await conn.recv())
    async def main():
        server = await npipes.aio.start_server(echo, name,
                                               max_connections=most)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM,
                                                      server.close)
        print('ready', flush=True)
        await server.wait_closed()
        return server.failed_accepts
    failed = asyncio.run(main())
else:
    if mode == 'thread-rpc':
        server = npipes.rpc.RpcServer(name, {'echo': lambda text: text},
                                      max_connections=most)
        listener, serve = server.listener, server.serve_forever
    else:
        listener = server = npipes.Listener(name, max_connections=most)
        serve = lambda: listener.serve_forever(npipes.listener.echo_handler)
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    print('ready', flush=True)
    serve()
    failed = listener.failed_accepts
print('failed accepts', failed, flush=True)
'''


def _limit(files):
    """preexec_fn: lower the child's open-file limit to *files*."""
    def lower():
        import resource
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, hard))
    return lower


def _read(sock, count):
    data = _read_exact(sock, count)
    if len(data) < count:
        raise ConnectionError('closed by the server')
    return data


class _Client:
    """A raw client of an echo or rpc server (its own blocking socket)."""

    def __init__(self, path, rpc, timeout=support.CHILD_TIMEOUT):
        self.rpc = rpc
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise

    def served(self):
        """One round trip: True if the answer is right."""
        if self.rpc:
            self.sock.sendall(frame(json.dumps(
                {'jsonrpc': '2.0', 'id': 1, 'method': 'echo',
                 'params': ['hi']}).encode()))
            _, n = struct.unpack('>II', _read(self.sock, 8))
            return json.loads(_read(self.sock, n + 4)[:n]).get('result') \
                == 'hi'
        self.sock.sendall(frame(b'hi'))
        return _read(self.sock, 14)[8:10] == b'hi'

    def close(self):
        self.sock.close()


def _idle_clients(path, count):
    """Up to *count* connected sockets that send nothing.  While the
    server's backlog is full (EAGAIN) it is given time to accept more;
    once it has accepted none for a second (out of descriptors, or all
    refused and closed), what is open is enough."""
    held, stalled = [], time.monotonic()
    while len(held) < count and time.monotonic() - stalled < 1.0:
        sock = socket.socket(socket.AF_UNIX)
        sock.setblocking(False)
        try:
            sock.connect(path)
        except BlockingIOError:          # backlog full
            sock.close()
            time.sleep(0.01)
            continue
        held.append(sock)
        stalled = time.monotonic()
    return held


def _connect_when_room(path, rpc):
    """A client, once the server's backlog has room: it is still full of
    the closed idle clients until the server, backing off (1 s at most),
    accepts them."""
    end = time.monotonic() + support.CHILD_TIMEOUT
    while True:
        try:
            return _Client(path, rpc)
        except BlockingIOError:
            if time.monotonic() > end:
                raise
            time.sleep(0.01)


class DefaultLimitTests(unittest.TestCase):

    def test_the_default_connection_limit_leaves_descriptors(self):
        # The same figures as the .NET DescriptorLimit (1024 on Windows).
        for files, expected in ((1024, 768), (256, 128), (200, 72),
                                (100, 1), (4096, 1024), (2**63 - 1, 1024),
                                (None, 1024)):
            self.assertEqual(max_connections_for(files), expected, files)
        self.assertEqual(DEFAULT_MAX_CONNECTIONS,
                         max_connections_for(open_files()))


@unittest.skipUnless(support.IS_UNIX, 'RLIMIT_NOFILE is a Unix limit')
class DescriptorExhaustionTests(unittest.TestCase):

    def exhaust(self, argv, files, idle, rpc=False):
        """Run *argv* under RLIMIT_NOFILE *files*; *idle* clients at once;
        return the child's stdout and stderr after SIGTERM."""
        name = argv[argv.index('NAME')] = support.pipe_name()
        path = transport.pipe_address(name)
        child = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=support.child_env(), preexec_fn=_limit(files))
        held = []
        try:
            line = child.stdout.readline()
            self.assertTrue(line == 'ready\n' or ': serving ' in line, line)
            first = _Client(path, rpc)
            self.assertTrue(first.served())
            held.extend(_idle_clients(path, idle))
            # Served while the idle clients hold (or were refused) every
            # descriptor the server could have.
            self.assertTrue(first.served())
            if child.poll() is not None:
                self.fail(f'the server exited: {child.communicate()}')
            for sock in held:
                sock.close()
            held.clear()
            late = _connect_when_room(path, rpc)  # accepted again
            self.assertTrue(late.served())
            self.assertTrue(first.served())
            late.close()
            first.close()
        finally:
            for sock in held:
                sock.close()
            child.terminate()
            _, out, err = support.finish(child)
        return out, err

    def child(self, mode, most):
        return [sys.executable, '-c', CHILD, mode, 'NAME', str(most)]

    def test_python_m_npipes_echo_with_default_options_outlives_idle_clients(self):
        # The default leaves headroom: 128 connections under 256; the rest
        # are accepted and closed unread.
        self.exhaust([sys.executable, '-m', 'npipes', 'echo', 'NAME'],
                     256, 400)

    def test_python_m_npipes_echo_out_of_descriptors_backs_off_and_recovers(self):
        # An explicit limit far above the descriptors: accepts fail (EMFILE),
        # are reported on stderr, and retried.
        _, err = self.exhaust([sys.executable, '-m', 'npipes', 'echo', 'NAME',
                               '--max-connections', '1000'], 48, 200)
        self.assertIn('Too many open files', err)

    def test_listener_out_of_descriptors_counts_its_failed_accepts(self):
        out, err = self.exhaust(self.child('thread-echo', 1000), 48, 200)
        self.assertRegex(out, r'failed accepts [1-9]', err)

    def test_rpc_server_out_of_descriptors_backs_off_and_recovers(self):
        out, err = self.exhaust(self.child('thread-rpc', 1000), 48, 200,
                                rpc=True)
        self.assertRegex(out, r'failed accepts [1-9]', err)

    def test_rpc_serve_with_default_options_outlives_idle_clients(self):
        self.exhaust([sys.executable, '-m', 'npipes', 'rpc', 'serve', 'NAME'],
                     256, 400, rpc=True)

    def test_aio_listener_out_of_descriptors_backs_off_and_recovers(self):
        out, err = self.exhaust(self.child('aio-echo', 1000), 48, 200)
        self.assertRegex(out, r'failed accepts [1-9]', err)


if __name__ == '__main__':
    unittest.main()
