"""npipes.rpc: JSON-RPC 2.0 over npipes frames, threaded client and server
(the protocol NPipes.JsonRpc / StreamJsonRpc speaks on the .NET side)."""

import json
import logging
import signal
import string
import subprocess
import sys
import threading
import time
import unittest

from tests import support
from npipes import rpc
from npipes.connection import connect
from npipes.errors import (ConnectionClosedError, FrameTooLargeError,
                           PipeTimeoutError)

T = 10
MiB = 1024 * 1024


def wait_until(cond, what):
    """Poll *cond* (a condition, not a sleep) for at most T seconds."""
    end = time.monotonic() + T
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f'timed out waiting for {what}')
        time.sleep(0.005)


class Served:
    """An RpcServer on a fresh pipe name, serving in a thread."""

    def __init__(self, functions, **options):
        self.name = support.pipe_name()
        self.server = rpc.RpcServer(self.name, functions, **options)
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def client(self, **options):
        return rpc.connect(self.name, timeout=T, **options)

    def close(self):
        self.server.close()
        self.thread.join(T)
        if self.thread.is_alive():
            raise AssertionError('serve_forever did not return after close()')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Recorder:
    """Server functions that report what they saw through events."""

    def __init__(self):
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self.notes = []
        self.noted = threading.Event()

    def block(self, cancel):
        """Runs until cancelled (bounded), then answers -32800."""
        self.started.set()
        if cancel.wait(T):
            self.cancelled.set()
        cancel.raise_if_cancelled()
        return 'not cancelled'

    def note(self, text):
        self.notes.append(text)
        self.noted.set()


def add(a: float, b: float) -> float:
    return a + b


def fail(code: int, message: str):
    raise rpc.RemoteError(code, message, {'detail': [1, 2]})


def crash(text):
    raise KeyError(text)


FUNCTIONS = {'add': add, 'fail': fail, 'crash': crash,
             'echo': lambda text: text, 'nothing': lambda: None}


class CallTests(unittest.TestCase):

    def setUp(self):
        self.served = Served(FUNCTIONS)
        self.addCleanup(self.served.close)
        self.client = self.served.client()
        self.addCleanup(self.client.close)

    def test_positional_and_named_params(self):
        self.assertEqual(self.client.call('add', 2, 3, timeout=T), 5)
        self.assertEqual(self.client.call('add', a=1.5, b=2, timeout=T), 3.5)
        self.assertEqual(self.client.call('echo', 'héllo ☃', timeout=T),
                         'héllo ☃')
        self.assertIsNone(self.client.call('nothing', timeout=T))
        with self.assertRaises(TypeError):
            self.client.call('add', 1, b=2)         # not both kinds

    def test_remote_errors_carry_their_codes(self):
        cases = [(('fail', -32001, 'app error'), -32001, 'app error'),
                 (('fail', 42, 'answer'), 42, 'answer'),
                 (('no_such_method',), rpc.METHOD_NOT_FOUND,
                  "No method by the name 'no_such_method' is found."),
                 (('add', 1), rpc.INVALID_PARAMS, None),
                 (('add', 1, 2, 3), rpc.INVALID_PARAMS, None),
                 (('add', 'x', 2), rpc.INVALID_PARAMS, None),
                 (('add', True, 2), rpc.INVALID_PARAMS, None),
                 (('crash', 'boom'), rpc.INVOCATION_ERROR, "'boom'")]
        for args, code, message in cases:
            with self.subTest(args=args):
                with self.assertRaises(rpc.RemoteError) as cm:
                    self.client.call(*args, timeout=T)
                self.assertEqual(cm.exception.code, code)
                if message is not None:
                    self.assertEqual(cm.exception.message, message)
        with self.assertRaises(rpc.RemoteError) as cm:
            self.client.call('crash', 'boom', timeout=T)
        self.assertEqual(cm.exception.data, {'type': 'KeyError',
                                             'message': "'boom'"})
        self.assertEqual(cm.exception.type, 'KeyError')
        with self.assertRaises(rpc.RemoteError) as cm:
            self.client.call('fail', 7, 'with data', timeout=T)
        self.assertEqual(cm.exception.data, {'detail': [1, 2]})
        # every error left the connection usable
        self.assertEqual(self.client.call('add', 1, 1, timeout=T), 2)

    def test_request_too_large_fails_before_sending(self):
        with self.assertRaises(FrameTooLargeError):
            self.client.call('echo', 'x' * (17 * MiB), timeout=T)
        self.assertEqual(self.client.call('echo', 'still here', timeout=T),
                         'still here')

    def test_arguments_that_are_not_json_are_a_type_error(self):
        with self.assertRaises(TypeError):
            self.client.call('echo', object(), timeout=T)
        with self.assertRaises(ValueError):
            self.client.call('echo', float('nan'), timeout=T)
        self.assertEqual(self.client.call('echo', 'ok', timeout=T), 'ok')

    def test_closed_client_refuses_calls(self):
        self.client.close()
        self.assertTrue(self.client.closed)
        with self.assertRaises(ConnectionClosedError) as cm:
            self.client.call('echo', 'x', timeout=T)
        self.assertEqual(cm.exception.reason, 'closed')


class ConcurrencyTests(unittest.TestCase):

    def test_100_concurrent_calls_complete_out_of_order(self):
        """Call i may finish only after call i+1 did: the server runs all
        100 at once and answers in reverse order; each caller gets its own
        result (replies are matched by id, not by order)."""
        turn = [99]
        cond = threading.Condition()
        finished = []

        def in_turn(i: int) -> int:
            with cond:
                if not cond.wait_for(lambda: turn[0] == i, T):
                    raise RuntimeError(f'call {i} never got its turn')
                finished.append(i)
                turn[0] -= 1
                cond.notify_all()
            return i * i

        with Served({'in_turn': in_turn}, max_workers=100) as served, \
                served.client() as client:
            results, errors, order = {}, [], []
            lock = threading.Lock()
            go = threading.Barrier(100)

            def caller(i):
                go.wait(T)
                try:
                    value = client.call('in_turn', i, timeout=T)
                except Exception as exc:
                    errors.append(exc)
                    return
                with lock:
                    results[i] = value
                    order.append(i)
            threads = [threading.Thread(target=caller, args=(i,))
                       for i in range(100)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(T)
            self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(errors, [])
        self.assertEqual(results, {i: i * i for i in range(100)})
        self.assertEqual(finished, list(range(99, -1, -1)))
        self.assertLess(order.index(99), order.index(0))

    def test_limits_backpressure_still_completes_every_call(self):
        """max_workers=2, max_queued=1: the server stops reading past three
        requests, yet all 20 calls complete."""
        running, peak = [0], [0]
        lock = threading.Lock()
        gate = threading.Event()

        def work(i: int) -> int:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            gate.wait(0.05)
            with lock:
                running[0] -= 1
            return i

        with Served({'work': work}, max_workers=2, max_queued=1) as served, \
                served.client() as client:
            out = []
            threads = [threading.Thread(target=lambda i=i: out.append(
                client.call('work', i, timeout=T))) for i in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(T)
        self.assertEqual(sorted(out), list(range(20)))
        self.assertLessEqual(peak[0], 2)


class CancellationTests(unittest.TestCase):

    def test_timeout_sends_cancel_request_that_reaches_the_function(self):
        rec = Recorder()
        with Served({'block': rec.block, 'add': add}) as served, \
                served.client() as client:
            with self.assertRaises(PipeTimeoutError):
                client.call('block', timeout=0.5)
            self.assertTrue(rec.started.wait(T))   # read before the cancel
            self.assertTrue(rec.cancelled.wait(T),
                            'the function never saw its cancel token set')
            self.assertEqual(client.call('add', 1, 2, timeout=T), 3)

    def test_cancelled_request_is_answered_minus_32800(self):
        rec = Recorder()
        with Served({'block': rec.block}) as served, \
                connect(served.name, timeout=T) as raw:
            raw.send(b'{"jsonrpc":"2.0","id":7,"method":"block","params":[]}')
            self.assertTrue(rec.started.wait(T))
            raw.send(b'{"jsonrpc":"2.0","method":"$/cancelRequest",'
                     b'"params":{"id":7}}')
            reply = json.loads(raw.recv(timeout=T))
        self.assertEqual(reply['id'], 7)
        self.assertEqual(reply['error']['code'], rpc.REQUEST_CANCELLED)
        self.assertTrue(rec.cancelled.is_set())

    def test_closing_the_server_cancels_running_functions(self):
        rec = Recorder()
        served = Served({'block': rec.block})
        client = served.client()
        outcome = []
        t = threading.Thread(target=lambda: self._capture(
            outcome, client.call, 'block', timeout=T))
        t.start()
        self.assertTrue(rec.started.wait(T))
        served.close()
        t.join(T)
        self.assertTrue(rec.cancelled.wait(T))
        self.assertEqual(len(outcome), 1)
        self.assertIsInstance(outcome[0], ConnectionClosedError)
        client.close()

    @staticmethod
    def _capture(out, func, *args, **kwargs):
        try:
            out.append(func(*args, **kwargs))
        except Exception as exc:
            out.append(exc)


class NotificationTests(unittest.TestCase):

    def test_notification_runs_and_gets_no_reply(self):
        rec = Recorder()
        with Served({'note': rec.note, 'add': add}) as served:
            with served.client() as client:
                client.notify('note', 'n1')
                self.assertTrue(rec.noted.wait(T))
            self.assertEqual(rec.notes, ['n1'])
            with connect(served.name, timeout=T) as raw:
                raw.send(b'{"jsonrpc":"2.0","method":"no_such","params":[]}')
                raw.send(b'{"jsonrpc":"2.0","method":"note","params":["n2"]}')
                raw.send(b'{"jsonrpc":"2.0","id":3,"method":"add",'
                         b'"params":[1,2]}')
                # the first frame back answers the request
                self.assertEqual(json.loads(raw.recv(timeout=T)),
                                 {'jsonrpc': '2.0', 'id': 3, 'result': 3})

    def test_notify_then_close_delivers_it(self):
        rec = Recorder()
        with Served({'note': rec.note}) as served:
            client = served.client()
            client.notify('note', 'last words')
            client.close()
            self.assertTrue(rec.noted.wait(T))
        self.assertEqual(rec.notes, ['last words'])


class ProtocolTests(unittest.TestCase):
    """(Invalid messages: test_rpc_violations.py.)"""

    def test_result_that_is_not_json_is_an_internal_error(self):
        with Served({'obj': lambda: object()}) as served, \
                served.client() as client:
            with self.assertRaises(rpc.RemoteError) as cm:
                client.call('obj', timeout=T)
        self.assertEqual(cm.exception.code, rpc.INTERNAL_ERROR)

    def test_failures_are_logged_not_printed(self):
        with Served(FUNCTIONS) as served, served.client() as client:
            with self.assertLogs('npipes', logging.WARNING) as logs:
                with self.assertRaises(rpc.RemoteError):
                    client.call('crash', 'x', timeout=T)
        self.assertTrue(any('crash raised KeyError' in line
                            for line in logs.output), logs.output)


class LimitTests(unittest.TestCase):

    def test_10_MiB_argument_with_crc(self):
        text = (string.ascii_letters * (10 * MiB // 52 + 1))[:10 * MiB]
        with Served(FUNCTIONS, crc=True, max_payload=11 * MiB) as served, \
                served.client(crc=True, max_payload=11 * MiB) as client:
            self.assertEqual(client.call('echo', text, timeout=T * 3), text)

    def test_a_running_call_is_not_idle(self):
        """idle_timeout closes a silent connection, but not one waiting for
        a call that runs longer than the idle timeout."""
        def slow(cancel):
            cancel.wait(2.0)           # twice the idle timeout
            return 'done'
        with Served({'slow': slow}, idle_timeout=1.0) as served, \
                served.client() as client:
            self.assertEqual(client.call('slow', timeout=T), 'done')
            wait_until(lambda: client.closed, 'the idle connection to close')
            with self.assertRaises(ConnectionClosedError) as cm:
                client.call('slow', timeout=T)
            self.assertEqual(cm.exception.reason, 'peer closed')


#: An RpcServer child: prints "ready", then "started" for every call of
#: wait() as it begins (each waits until the child is killed).
WAITER = r'''
import sys, threading
from npipes import rpc
lock = threading.Lock()
def wait(cancel):
    with lock:
        sys.stdout.write("started\n")
        sys.stdout.flush()
    cancel.wait(60)
server = rpc.RpcServer(sys.argv[1], {"wait": wait}, max_workers=10)
print("ready", flush=True)
server.serve_forever()
'''


def readline(proc, bound=T):
    """*proc*'s next stdout line (stripped), waiting at most *bound* s."""
    out = []
    t = threading.Thread(target=lambda: out.append(proc.stdout.readline()),
                         daemon=True)
    t.start()
    t.join(bound)
    if not out:
        proc.kill()
        raise AssertionError(f'no line from the child within {bound} s')
    return out[0].strip()


def remove_socket_of_killed_server(name):
    """A SIGKILLed server leaves its socket file: the test that killed it
    removes it (only if it is a socket)."""
    import os
    import stat
    from npipes import transport
    path = transport.pipe_address(name)
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


class KilledServerTests(unittest.TestCase):

    @unittest.skipUnless(support.IS_UNIX, 'kills with SIGKILL')
    def test_server_killed_mid_call_fails_every_pending_call_typed(self):
        name = support.pipe_name()
        server = support.spawn_python(WAITER, name)
        self.addCleanup(remove_socket_of_killed_server, name)
        self.addCleanup(lambda: server.poll() is None and server.kill())
        self.assertEqual(readline(server), 'ready')
        client = rpc.connect(name, timeout=T)
        self.addCleanup(client.close)
        outcomes = []

        def call():
            try:
                outcomes.append(client.call('wait', timeout=T * 3))
            except Exception as exc:
                outcomes.append(exc)
        threads = [threading.Thread(target=call) for _ in range(5)]
        for t in threads:
            t.start()
        for _ in range(5):      # every call is running at the server
            self.assertEqual(readline(server), 'started')
        server.send_signal(signal.SIGKILL)
        server.communicate(timeout=T)
        for t in threads:
            t.join(T)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(len(outcomes), 5)
        for exc in outcomes:
            self.assertIsInstance(exc, ConnectionClosedError)
            self.assertEqual(exc.reason, 'peer closed')
        self.assertTrue(client.closed)


class CliTests(unittest.TestCase):
    """python -m npipes rpc serve|call: output and exit codes."""

    def setUp(self):
        self.name = support.pipe_name()
        self.server = support.spawn_cli('rpc', 'serve', self.name, '--crc')
        self.addCleanup(self.stop)
        line = readline(self.server)
        self.assertIn(f"serving '{self.name}'", line)

    def stop(self):
        self.server.send_signal(signal.SIGTERM)
        code, out, err = support.finish(self.server)
        self.assertEqual((code, err), (0, ''))

    def call(self, *args):
        p = subprocess.run([sys.executable, '-m', 'npipes', 'rpc', 'call',
                            self.name, *args, '--crc'], capture_output=True,
                           text=True, env=support.child_env(),
                           timeout=support.CHILD_TIMEOUT)
        return p.returncode, p.stdout, p.stderr

    def test_results_print_as_json(self):
        self.assertEqual(self.call('echo', '"héllo"'), (0, '"héllo"\n', ''))
        self.assertEqual(self.call('add', '1', '2'), (0, '3\n', ''))
        self.assertEqual(self.call('add', '1.5', '-2'), (0, '-0.5\n', ''))
        self.assertEqual(self.call('sleep', '10'), (0, '10\n', ''))

    def test_remote_error_is_one_line_exit_4(self):
        for args, code in ((('fail', '-32001', '"app error"'), -32001),
                           (('nope',), -32601), (('add', '1'), -32602)):
            with self.subTest(args=args):
                rc, out, err = self.call(*args)
                self.assertEqual((rc, out), (4, ''))
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn(f'error {code}:', err)

    def test_timeout_exit_3_and_the_call_is_cancelled(self):
        rc, out, err = self.call('sleep', '60000', '--timeout', '0.5')
        self.assertEqual((rc, out), (3, ''))
        self.assertEqual(err, "npipes rpc: timed out: no reply to 'sleep' "
                              "within 0.5 s (the call was cancelled)\n")
        self.assertEqual(self.call('echo', '"after"'), (0, '"after"\n', ''))

    def test_usage_errors_exit_2(self):
        for args in (('echo', 'not-json'), ('echo', 'NaN')):
            with self.subTest(args=args):
                rc, out, err = self.call(*args)
                self.assertEqual(rc, 2, err)


if __name__ == '__main__':
    unittest.main()
