"""The threaded client's fast path (issue 25): a client that serves nothing
reads its replies on its callers' threads; the turn passes between callers;
`closed` notices the peer leaving; the lean worker pool; binding an array
of params without inspect."""

import threading
import unittest

from tests import support
from tests.test_rpc import T, Served, wait_until
from npipes import rpc
from npipes._jsonrpc import INVALID_PARAMS, ProtocolError
from npipes._rpctargets import CancelToken, Target
from npipes._rpcworkers import Workers
from npipes.errors import ConnectionClosedError, PipeTimeoutError


def _readers():
    return [t for t in threading.enumerate()
            if t.name.startswith('npipes-rpc-reader rpc client')]


class CallerReadsTests(unittest.TestCase):

    def test_only_a_client_that_serves_functions_has_a_reader_thread(self):
        with Served({'echo': lambda x: x}) as served:
            before = len(_readers())
            with served.client() as client:
                self.assertEqual(client.call('echo', 1, timeout=T), 1)
                self.assertEqual(len(_readers()), before)
            with rpc.RpcClient.connect(served.name, T,
                                       functions={'f': len}) as client:
                self.assertEqual(client.call('echo', 2, timeout=T), 2)
                self.assertEqual(len(_readers()), before + 1)

    def test_a_caller_that_times_out_hands_the_turn_on(self):
        started, gate = threading.Event(), threading.Event()

        def hold(cancel):
            started.set()
            cancel.wait(T)
            cancel.raise_if_cancelled()

        def gated():
            gate.wait(T)
            return 'through'

        outcome = []
        with Served({'hold': hold, 'gated': gated}) as served, \
                served.client() as client:
            def first():
                try:
                    client.call('hold', timeout=0.5)
                except PipeTimeoutError as exc:
                    outcome.append(exc)

            a = threading.Thread(target=first)
            a.start()                  # A reads: it is the only call
            self.assertTrue(started.wait(T))
            b = threading.Thread(
                target=lambda: outcome.append(client.call('gated', timeout=T)))
            b.start()                  # B waits for the turn
            a.join(T)
            self.assertIsInstance(outcome[0], PipeTimeoutError)
            gate.set()                 # B's reply comes after A left
            b.join(T)
            self.assertEqual(outcome[1:], ['through'])

    def test_close_ends_the_call_of_a_caller_that_is_reading(self):
        """close() from another thread wakes the caller in its read (the
        socket is shut down, not closed under its poll())."""
        started, outcome = threading.Event(), []

        def hold(cancel):
            started.set()
            cancel.wait(T)

        with Served({'hold': hold}) as served:
            client = served.client()

            def reading():
                try:
                    client.call('hold', timeout=T * 3)
                except ConnectionClosedError as exc:
                    outcome.append(exc)

            a = threading.Thread(target=reading)
            a.start()
            self.assertTrue(started.wait(T))
            client.close()
            a.join(T)
            self.assertFalse(a.is_alive(), 'the reading caller still waits')
            self.assertEqual(outcome[0].reason, 'closed')
            client.close()             # again: at once

    def test_closed_notices_the_peer_leaving_without_a_call(self):
        served = Served({'echo': lambda x: x})
        client = served.client()
        try:
            self.assertEqual(client.call('echo', 'x', timeout=T), 'x')
            self.assertFalse(client.closed)
            served.close()
            wait_until(lambda: client.closed, 'the client to see the end')
            with self.assertRaises(ConnectionClosedError):
                client.call('echo', 'y', timeout=T)
        finally:
            client.close()


class WorkersTests(unittest.TestCase):

    def test_every_job_runs_on_at_most_max_workers_threads(self):
        lock, names, done = threading.Lock(), set(), []
        finished = threading.Event()

        def run(job):
            with lock:
                names.add(threading.current_thread().name)
                done.append(job)
                if len(done) == 50:
                    finished.set()

        workers = Workers(run, 3, 'test-workers')
        for job in range(50):
            workers.submit(job)
        self.assertTrue(finished.wait(T))
        workers.shutdown()
        self.assertEqual(sorted(done), list(range(50)))
        self.assertLessEqual(len(names), 3)
        with self.assertRaises(RuntimeError):
            workers.submit(99)


def typed(a: int, b: str = 'x'):
    return a, b


class PlainBindTests(unittest.TestCase):

    def bind(self, params):
        return Target('typed', typed).bind(params, CancelToken())

    def test_an_array_binds_by_position(self):
        self.assertEqual(self.bind([1]), ((1,), {}))
        self.assertEqual(self.bind([1, 'y']), ((1, 'y'), {}))

    def test_a_json_type_is_checked_by_position(self):
        with self.assertRaises(ProtocolError) as cm:
            self.bind(['1'])
        self.assertEqual(cm.exception.code, INVALID_PARAMS)
        self.assertIn("'a' must be an integer", str(cm.exception))

    def test_a_wrong_count_is_invalid_params(self):
        for params in ([], [1, 'y', 3]):
            with self.assertRaises(ProtocolError) as cm:
                self.bind(params)
            self.assertEqual(cm.exception.code, INVALID_PARAMS)


if __name__ == '__main__':
    unittest.main()
