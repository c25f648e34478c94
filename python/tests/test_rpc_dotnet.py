"""Remote calls across languages: npipes.rpc / npipes.aio against the .NET
CLI's ``npipes rpc serve`` and ``npipes rpc call`` (NPipes.JsonRpc on
StreamJsonRpc).

The CLI is found as in test_dotnet_cli ($NPIPES_CLI, else the built
src/NPipes.Cli); without a CLI the tests are skipped, but a CLI without a
working ``rpc`` command fails them.
"""

import asyncio
import json
import logging
import signal
import string
import subprocess
import threading
import time
import unittest

from tests import support
from tests.test_rpc import readline, remove_socket_of_killed_server
from npipes import aio, rpc
from npipes._cli_rpc import DEMO
from npipes.connection import connect
from npipes.errors import ConnectionClosedError, PipeTimeoutError

T = 20          # .NET start-up included
MiB = 1024 * 1024


def wait_until(cond, what, bound=T):
    end = time.monotonic() + bound
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f'timed out waiting for {what}')
        time.sleep(0.005)


_RPC_CHECKED = {}


def dotnet_rpc_cli(test_case):
    """The CLI command prefix; SkipTest without a CLI, and an
    AssertionError (not a skip) when the CLI has no working ``rpc``."""
    cli, reason = support.dotnet_cli()
    if cli is None:
        raise unittest.SkipTest(reason)
    key = tuple(cli)
    if key not in _RPC_CHECKED:
        p = subprocess.run([*cli, 'rpc', 'call', '--help'],
                           capture_output=True, text=True,
                           env=support.child_env(), timeout=T * 2)
        ok = p.returncode == 0 and 'rpc call' in p.stdout
        _RPC_CHECKED[key] = None if ok else (
            f'the .NET CLI {" ".join(cli)!r} has no "rpc" command (its '
            f'"rpc call --help" exits {p.returncode} without "rpc call" in '
            f'its usage); it needs NPipes.Cli built with NPipes.JsonRpc')
    if _RPC_CHECKED[key] is not None:
        raise AssertionError(_RPC_CHECKED[key])
    return cli


def sent_calls(client):
    """Calls of *client* whose request the writer has taken (white box)."""
    return sum(1 for _, call in list(client._peer._engine._pending.values())
               if call.sent)


class DotnetServer:
    """``npipes rpc serve NAME [options]`` of the .NET CLI."""

    def __init__(self, test, cli, *options):
        self.name = support.pipe_name()
        self.proc = subprocess.Popen(
            [*cli, 'rpc', 'serve', self.name, *options],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding='utf-8',
            env=support.child_env())
        try:
            line = readline(self.proc, T)
        except AssertionError:
            line = '(nothing)'
        if not line.startswith(f"npipes rpc: serving '{self.name}'"):
            self.proc.kill()
            _, err = self.proc.communicate()
            test.fail(f'npipes rpc serve did not start (exit '
                      f'{self.proc.returncode}; a CLI without the rpc command '
                      f'needs NPipes.JsonRpc): {line!r} {err.strip()[:300]}')

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=T)
        remove_socket_of_killed_server(self.name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.communicate(timeout=T)
            except subprocess.TimeoutExpired:
                self.kill()


class PythonClientDotnetServerTests(unittest.TestCase):
    """npipes.rpc.RpcClient -> ``npipes rpc serve --crc``."""

    def setUp(self):
        self.cli = dotnet_rpc_cli(self)
        self.server = DotnetServer(self, self.cli, '--crc')
        self.addCleanup(self.server.stop)
        self.client = rpc.connect(self.server.name, timeout=T, crc=True)
        self.addCleanup(self.client.close)

    def test_results_and_remote_errors_with_codes(self):
        c = self.client
        self.assertEqual(c.call('echo', 'héllo ☃', timeout=T), 'héllo ☃')
        self.assertEqual(c.call('echo', text='named', timeout=T), 'named')
        self.assertEqual(c.call('add', 1, 2.5, timeout=T), 3.5)
        for args, code in ((('fail', -32001, 'app error'), -32001),
                           (('fail', 42, 'answer'), 42),
                           (('no_such_method',), rpc.METHOD_NOT_FOUND),
                           (('add', 'x', 2), rpc.INVALID_PARAMS),
                           (('add', 1), rpc.INVALID_PARAMS)):
            with self.subTest(args=args):
                with self.assertRaises(rpc.RemoteError) as cm:
                    c.call(*args, timeout=T)
                self.assertEqual(cm.exception.code, code)
                if args[0] == 'fail':
                    self.assertEqual(cm.exception.message, args[2])

    def test_100_concurrent_calls_complete_out_of_order(self):
        """The first call (a long sleep) is still running while the 99 sent
        after it complete, each with its own result."""
        c = self.client
        first = []
        t0 = threading.Thread(target=lambda: self._capture(
            first, c.call, 'sleep', 60000, timeout=T * 3))
        t0.start()
        wait_until(lambda: sent_calls(c) == 1, 'the first call to be sent')
        results = {}
        go = threading.Barrier(99)

        def caller(i):
            go.wait(T)
            results[i] = c.call('sleep', i, timeout=T * 2)
        threads = [threading.Thread(target=caller, args=(i,))
                   for i in range(1, 100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(T * 2)
        self.assertEqual(results, {i: i for i in range(1, 100)})
        self.assertTrue(t0.is_alive(), 'the first call ended first')
        self.client.close()               # ends the first call, typed
        t0.join(T)
        self.assertIsInstance(first[0], ConnectionClosedError)

    @staticmethod
    def _capture(out, func, *args, **kwargs):
        try:
            out.append(func(*args, **kwargs))
        except Exception as exc:
            out.append(exc)

    def test_timeout_cancels_the_call_at_the_dotnet_server(self):
        """.NET answers the cancelled sleep(60000) with -32800 at once: the
        late answer arrives (and is dropped) long before the sleep ends."""
        with self.assertLogs('npipes', logging.DEBUG) as logs:
            with self.assertRaises(PipeTimeoutError):
                self.client.call('sleep', 60000, timeout=0.5)
            # This client serves nothing: no reader thread; `closed` reads
            # what has come (docs/rpc.md §6).
            wait_until(lambda: not self.client.closed and
                       any('-32800' in line for line in logs.output),
                       'the -32800 answer to the cancelled call')
        self.assertEqual(self.client.call('echo', 'after', timeout=T), 'after')

    def test_cancel_request_on_the_wire(self):
        with connect(self.server.name, timeout=T, crc=True) as raw:
            raw.send(b'{"jsonrpc":"2.0","id":1,"method":"sleep",'
                     b'"params":[60000]}')
            raw.send(b'{"jsonrpc":"2.0","method":"$/cancelRequest",'
                     b'"params":{"id":1}}')
            reply = json.loads(raw.recv(timeout=T))
        self.assertEqual((reply['id'], reply['error']['code']),
                         (1, rpc.REQUEST_CANCELLED))

    def test_notification_gets_no_reply(self):
        with connect(self.server.name, timeout=T, crc=True) as raw:
            raw.send(b'{"jsonrpc":"2.0","method":"echo","params":["n"]}')
            raw.send(b'{"jsonrpc":"2.0","id":2,"method":"add",'
                     b'"params":[2,2]}')
            reply = json.loads(raw.recv(timeout=T))
        self.assertEqual((reply['id'], reply['result']), (2, 4))
        self.client.notify('echo', 'from the client')
        self.assertEqual(self.client.call('add', 1, 1, timeout=T), 2)

    def test_10_MiB_argument_with_crc(self):
        text = (string.ascii_letters * (10 * MiB // 52 + 1))[:10 * MiB]
        self.assertEqual(self.client.call('echo', text, timeout=T * 3), text)

    def test_aio_client(self):
        async def main():
            async with await aio.RpcClient.connect(
                    self.server.name, timeout=T, crc=True) as c:
                self.assertEqual(await c.call('add', 40, 2, timeout=T), 42)
                with self.assertRaises(aio.RemoteError) as cm:
                    await c.call('fail', -32050, 'x', timeout=T)
                self.assertEqual(cm.exception.code, -32050)
                with self.assertRaises(PipeTimeoutError):
                    await c.call('sleep', 60000, timeout=0.5)
                results = await asyncio.gather(
                    *(c.call('sleep', i, timeout=T) for i in range(50)))
                self.assertEqual(results, list(range(50)))
        asyncio.run(asyncio.wait_for(main(), T * 3))


class KilledDotnetServerTests(unittest.TestCase):

    @unittest.skipUnless(support.IS_UNIX, 'kills with SIGKILL')
    def test_killed_mid_call_fails_every_pending_call_typed(self):
        cli = dotnet_rpc_cli(self)
        server = DotnetServer(self, cli)
        self.addCleanup(server.kill)
        client = rpc.connect(server.name, timeout=T)
        self.addCleanup(client.close)
        outcomes = []

        def call():
            try:
                outcomes.append(client.call('sleep', 60000, timeout=T * 3))
            except Exception as exc:
                outcomes.append(exc)
        threads = [threading.Thread(target=call) for _ in range(5)]
        for t in threads:
            t.start()
        wait_until(lambda: sent_calls(client) == 5, 'five calls sent')
        # answered after the five were read: they run at the server
        self.assertEqual(client.call('echo', 'read', timeout=T), 'read')
        server.kill()
        for t in threads:
            t.join(T)
        self.assertEqual(len(outcomes), 5)
        for exc in outcomes:
            self.assertIsInstance(exc, ConnectionClosedError)


class DotnetClientPythonServerTests(unittest.TestCase):
    """``npipes rpc call`` -> npipes.rpc.RpcServer (and the Python CLI)."""

    def setUp(self):
        self.cli = dotnet_rpc_cli(self)

    def start(self, *options, **server_options):
        self.name = support.pipe_name()
        self.cancelled = threading.Event()

        def sleep(ms: int, cancel):
            if cancel.wait(ms / 1000):
                self.cancelled.set()
                cancel.raise_if_cancelled()
            return ms
        functions = dict(DEMO, sleep=sleep)
        server = rpc.RpcServer(self.name, functions, **server_options)
        t = threading.Thread(target=server.serve_forever)
        t.start()

        def stop():
            server.close()
            t.join(T)
        self.addCleanup(stop)
        self.options = list(options)

    def call(self, *args):
        return subprocess.Popen(
            [*self.cli, 'rpc', 'call', self.name, *args, *self.options],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding='utf-8',
            env=support.child_env())

    def results(self, *procs):
        return [support.finish(p, T + 10) for p in procs]

    def test_results_errors_and_exit_codes(self):
        self.start('--crc', '--byte-order', 'little', crc=True,
                   endian='little')
        runs = self.results(
            self.call('echo', '"héllo"'), self.call('add', '1', '2.5'),
            self.call('fail', '-32001', '"app error"'),
            self.call('no_such_method'), self.call('add', '"x"', '1'))
        self.assertEqual(runs[0][:2], (0, '"héllo"\n'), runs[0][2])
        self.assertEqual(runs[1][:2], (0, '3.5\n'), runs[1][2])
        for (code, out, err), expected in zip(runs[2:],
                                              (-32001, -32601, -32602)):
            self.assertEqual((code, out), (4, ''), err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn(str(expected), err)

    def test_timeout_exit_3_cancels_the_python_function(self):
        self.start()
        code, out, err = self.results(
            self.call('sleep', '60000', '--timeout', '5'))[0]
        self.assertEqual((code, out), (3, ''), err)
        self.assertTrue(self.cancelled.wait(T),
                        'the Python function never saw the cancellation')

    def test_against_the_aio_server(self):
        """npipes rpc call -> aio RpcServer on a loop in another thread; an
        async function's token sees the .NET side's cancellation."""
        self.name, self.options = support.pipe_name(), []
        loop = asyncio.new_event_loop()
        ready, cancelled = threading.Event(), threading.Event()
        holder = {}

        async def asleep(ms: int, cancel) -> int:
            try:
                await asyncio.wait_for(cancel.wait(), ms / 1000)
            except asyncio.TimeoutError:
                return ms
            cancelled.set()
            cancel.raise_if_cancelled()

        async def start():
            holder['server'] = await aio.start_rpc_server(
                self.name, dict(DEMO, sleep=asleep))
            ready.set()

        t = threading.Thread(target=loop.run_forever)
        t.start()
        try:
            asyncio.run_coroutine_threadsafe(start(), loop).result(T)
            # --timeout covers connecting too: long enough for the call
            # to be running when it ends, on a loaded machine.
            ok, late = self.call('add', '2', '40'), self.call(
                'sleep', '60000', '--timeout', '5')
            (code, out, err), (code2, _, err2) = self.results(ok, late)
            self.assertEqual((code, out), (0, '42\n'), err)
            self.assertEqual(code2, 3, err2)
            self.assertTrue(cancelled.wait(T))
        finally:
            if 'server' in holder:
                asyncio.run_coroutine_threadsafe(
                    holder['server'].aclose(), loop).result(T)
            loop.call_soon_threadsafe(loop.stop)
            t.join(T)
            loop.close()

    def test_against_the_python_cli(self):
        name = support.pipe_name()
        server = support.spawn_cli('rpc', 'serve', name)
        try:
            self.assertIn('serving', readline(server))
            self.name, self.options = name, []
            (code, out, err), = self.results(self.call('add', '20', '22'))
            self.assertEqual((code, out), (0, '42\n'), err)
            # and the Python CLI's call against it, for symmetry
            p = support.spawn_cli('rpc', 'call', name, 'echo', '"py"')
            self.assertEqual(support.finish(p)[:2], (0, '"py"\n'))
        finally:
            server.terminate()
            support.finish(server)


class PythonCliDotnetServerTests(unittest.TestCase):

    def test_python_rpc_call_against_dotnet_serve(self):
        cli = dotnet_rpc_cli(self)
        server = DotnetServer(self, cli)
        self.addCleanup(server.stop)
        ok = support.spawn_cli('rpc', 'call', server.name, 'add', '2', '3')
        bad = support.spawn_cli('rpc', 'call', server.name, 'fail', '-32009',
                                '"nope"')
        late = support.spawn_cli('rpc', 'call', server.name, 'sleep', '60000',
                                 '--timeout', '0.5')
        self.assertEqual(support.finish(ok)[:2], (0, '5\n'))
        code, out, err = support.finish(bad)
        self.assertEqual((code, out), (4, ''))
        self.assertIn('-32009', err)
        self.assertEqual(support.finish(late)[0], 3)


if __name__ == '__main__':
    unittest.main()
