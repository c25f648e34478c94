"""The package's one-core rules (issue 20): each rule written once and the
shape that keeps it so -- the session's timeout rule, the back-off, the
asyncio Listener's log events, one module that reads sys.platform, no
import cycle, no module reaching into another's private members."""

import ast
import asyncio
import logging
import re
import time
import unittest

from tests import support
from npipes import _session, _util, aio
from npipes.errors import ConnectionClosedError, IncompleteFrameError

PACKAGE = support.PYTHON_DIR / 'npipes'
T = 10


def _sources():
    return {p.stem: p.read_text(encoding='utf-8')
            for p in sorted(PACKAGE.glob('*.py'))}


class SessionRuleTests(unittest.TestCase):

    def test_the_least_limit_wins_and_names_its_reason(self):
        t = _session.Timeouts(idle=5.0, frame=2.0)
        self.assertEqual(t.limit(10.0), (5.0, _session.IDLE))
        self.assertEqual(t.limit(1.0), (1.0, None))       # the caller's own
        self.assertEqual(t.limit(None, idle_left=0.5), (0.5, _session.IDLE))
        self.assertEqual(t.limit(None, idle=False), (None, None))
        t.frame_started = time.monotonic() - 1.5          # 0.5 s left
        seconds, reason = t.limit(10.0)
        self.assertEqual(reason, _session.FRAME)
        self.assertLessEqual(seconds, 0.5)

    def test_frame_clock_only_with_a_frame_timeout(self):
        t = _session.Timeouts(idle=1.0)
        t.bytes_arrived()
        self.assertIsNone(t.frame_started)
        t = _session.Timeouts(frame=1.0)
        t.bytes_arrived()
        self.assertIsNotNone(t.frame_started)
        t.frame_done(False)
        self.assertIsNone(t.frame_started)

    def test_expired_and_peer_gone_errors(self):
        err = _session.Timeouts(idle=3.0).expired(_session.IDLE)
        self.assertEqual(err.reason, 'idle timeout')
        self.assertIn('(3.0 s)', str(err))
        self.assertIsInstance(_session.peer_gone(True), IncompleteFrameError)
        gone = _session.peer_gone(False)
        self.assertIsInstance(gone, ConnectionClosedError)
        self.assertEqual(gone.reason, _session.PEER_CLOSED)
        self.assertEqual(str(_session.no_reply(gone)), _session.NO_REPLY)

    def test_bad_timeouts_are_refused(self):
        for bad in (0, -1.0):
            with self.assertRaises(ValueError):
                _session.Timeouts(idle=bad)
            with self.assertRaises(ValueError):
                _session.Timeouts(frame=bad)


class BackoffTests(unittest.TestCase):

    def test_one_ms_doubling_to_50_ms_as_the_endpoint_doc(self):
        delays = _util.delays()
        got = [next(delays) for _ in range(9)]
        self.assertEqual(got, [0.001, 0.002, 0.004, 0.008, 0.016, 0.032,
                               0.05, 0.05, 0.05])


class AioListenerEventTests(unittest.TestCase):
    """npipes.aio's Listener logs .NET's event names and ids (_log.py), as
    the threaded one does."""

    def test_events_of_a_served_connection(self):
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        log = logging.getLogger('npipes')
        log.addHandler(handler)
        old_level = log.level
        log.setLevel(logging.DEBUG)
        self.addCleanup(log.setLevel, old_level)
        self.addCleanup(log.removeHandler, handler)
        name = support.pipe_name()

        async def echo(conn):
            await conn.send(await conn.recv())

        async def main():
            server = await aio.start_server(echo, name)
            try:
                async with await aio.connect(name, timeout=T) as conn:
                    self.assertEqual(await conn.request(b'x', timeout=T), b'x')
            finally:
                await server.aclose()
        asyncio.run(main())
        events = [(r.npipes_event, r.npipes_event_id) for r in records
                  if hasattr(r, 'npipes_event')]
        for event in [('ServerListening', 1), ('ConnectionAccepted', 3),
                      ('ConnectionClosed', 5), ('ServerStopped', 2)]:
            self.assertIn(event, events)


def _runtime_text(text):
    """*text* less its `if TYPE_CHECKING:` blocks (never run)."""
    kept, skip = [], None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if skip is not None and (not line.strip() or indent > skip):
            continue
        skip = None
        if line.strip() == 'if TYPE_CHECKING:':
            skip = indent
            continue
        kept.append(line)
    return '\n'.join(kept)


class PackageShapeTests(unittest.TestCase):

    def test_only_the_platform_module_reads_sys_platform(self):
        # At run time; transport.py repeats the choice for the type checker
        # under `if TYPE_CHECKING` (mypy evaluates only sys.platform).
        readers = [m for m, text in _sources().items()
                   if 'sys.platform' in _runtime_text(text)]
        self.assertEqual(readers, ['_platform'])

    def test_no_import_cycle(self):
        sources = _sources()
        graph = {}
        for module, text in sources.items():
            deps = set()
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.ImportFrom) and node.level == 1:
                    deps.update([node.module.split('.')[0]] if node.module
                                else [a.name for a in node.names])
            graph[module] = (deps & set(sources)) - {'__init__'}

        def visit(module, path):
            for dep in graph[module]:
                self.assertNotIn(dep, path, f'import cycle: {path + [dep]}')
                visit(dep, path + [dep])
        for module in graph:
            if module != '__init__':
                visit(module, [module])

    def test_no_module_touches_another_modules_private_members(self):
        # obj._name where obj is not self/cls: allowed only for the module's
        # own classes (its own private helpers), listed by name here.
        own = re.compile(r'\b(?!self\b|cls\b)([a-z_]\w*)\._([a-z]\w*)')
        for module, text in _sources().items():
            for obj, attr in own.findall(text):
                if obj in ('sys', 'os', 'argparse', 'asyncio', 'socket'):
                    continue
                defined = re.search(rf'(self|cls)\._{attr}\b', text) or \
                    re.search(rf'def _{attr}\b', text)
                self.assertTrue(defined, f'{module}.py uses {obj}._{attr}, '
                                f'which it does not define')


if __name__ == '__main__':
    unittest.main()
