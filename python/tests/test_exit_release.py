"""A server left open when the interpreter exits removes its socket file
(docs/unix-endpoint.md §9; .NET does the same on ProcessExit)."""

import os
import unittest

from tests.support import IS_UNIX, finish, pipe_name, spawn_python

from npipes._unix import pipe_address

# Each child opens a server, says where, and leaves by sys.exit without
# closing it (no ``with``, no close()).
BLOCKING = '''
import sys
from npipes import Listener
server = Listener(sys.argv[1])
print(server.address, flush=True)
sys.exit(0)
'''

RPC = '''
import sys, threading
from npipes import rpc
threading.Thread(target=rpc.serve, args=(sys.argv[1], {'add': lambda a, b: a + b}),
                 daemon=True).start()
from npipes._unix import pipe_address
import os, time
while not os.path.exists(pipe_address(sys.argv[1])):
    time.sleep(0.005)
print(pipe_address(sys.argv[1]), flush=True)
sys.exit(0)
'''

AIO = '''
import asyncio, sys
from npipes import aio

async def main():
    async def echo(conn):
        await conn.send(await conn.recv())
    server = await aio.start_server(echo, sys.argv[1])
    print(server.address, flush=True)
    sys.exit(0)

asyncio.run(main())
'''


@unittest.skipUnless(IS_UNIX, 'socket files are a Unix matter')
class ExitReleaseTests(unittest.TestCase):
    def _check(self, code):
        name = pipe_name()
        proc = spawn_python(code, name)
        rc, out, err = finish(proc)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), pipe_address(name))
        self.assertFalse(os.path.exists(pipe_address(name)),
                         'the exited server left its socket file behind')

    def test_listener_left_open_at_sys_exit_removes_its_socket(self):
        self._check(BLOCKING)

    def test_rpc_server_in_a_daemon_thread_removes_its_socket(self):
        self._check(RPC)

    def test_aio_server_left_open_at_sys_exit_removes_its_socket(self):
        self._check(AIO)


if __name__ == '__main__':
    unittest.main()
