"""npipes.contract wired into the rpc and aio servers and clients: a class
served, rpc.discover, -32602 before the method runs, typed proxies over a
real pipe, and a module generated from a live server's document."""

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import List, Protocol

from tests import cli_support, support
from tests.test_rpc import Served
from tests.contract_sample import Calculator, Color, Stats, Tree
from npipes import aio, contract, rpc

T = 10


class CalculatorApi(Protocol):
    def add(self, a: int, b: int) -> int: ...
    def stats(self, values: List[float], color: Color = ...) -> Stats: ...
    def depth(self, tree: Tree) -> int: ...


class CalculatorApiAsync(Protocol):
    async def add(self, a: int, b: int) -> int: ...
    async def stats(self, values: List[float]) -> Stats: ...


class ThreadedTests(unittest.TestCase):

    def serve(self, functions, **options):
        served = Served(functions, **options)
        self.addCleanup(served.close)
        self.pipe = served.name
        client = rpc.connect(served.name, timeout=T)
        self.addCleanup(client.close)
        return client

    def test_discover_a_served_class(self):
        client = self.serve(Calculator())
        self.assertEqual(client.describe(timeout=T),
                         contract.describe_service(Calculator()).document())

    def test_invalid_params_before_the_method_runs(self):
        ran = []

        def add(a: int, b: int) -> int:
            ran.append((a, b))
            return a + b
        client = self.serve({'add': add})
        with self.assertRaises(rpc.RemoteError) as caught:
            client.call('add', 'x', 2, timeout=T)
        self.assertEqual(caught.exception.code, rpc.INVALID_PARAMS)
        self.assertEqual(caught.exception.message, "invalid params for "
                         "'add': 'a' must be an integer, got string 'x'")
        self.assertEqual(ran, [])
        # A dict of functions is named after the server's pipe.
        self.assertEqual(client.describe(timeout=T)['info']['title'],
                         self.pipe)

    def test_typed_proxy(self):
        calc = self.serve(Calculator()).proxy(CalculatorApi, timeout=T)
        self.assertEqual(calc.add(2, b=3), 5)
        self.assertEqual(calc.stats([1, 2], Color.GREEN),
                         Stats(2, 1.5, 'green'))
        self.assertEqual(calc.depth(Tree(1, [Tree(2)])), 2)

    def test_method_name_transform(self):
        class Snake:
            def get_total(self, first_value: int) -> int:
                return first_value * 2
        client = self.serve(Snake(), methods=contract.CAMEL_CASE)
        self.assertEqual(client.call('getTotal', firstValue=4, timeout=T), 8)
        with self.assertRaises(rpc.RemoteError) as caught:
            client.call('get_total', 4, timeout=T)
        self.assertEqual(caught.exception.code, rpc.METHOD_NOT_FOUND)

    def test_untyped_function_is_served_but_not_described(self):
        client = self.serve({'echo': lambda text: text})
        self.assertEqual(client.call('echo', 'hi', timeout=T), 'hi')
        with self.assertRaises(rpc.RemoteError) as caught:
            client.describe(timeout=T)
        self.assertEqual(caught.exception.code, rpc.INTERNAL_ERROR)
        self.assertIn("parameter 'text' of method 'echo'",
                      caught.exception.message)

    def test_result_that_does_not_fit_is_an_internal_error(self):
        def add(a: int, b: int) -> int:
            return 'three'                          # type: ignore
        client = self.serve({'add': add})
        with self.assertRaises(rpc.RemoteError) as caught:
            client.call('add', 1, 2, timeout=T)
        self.assertEqual(caught.exception.code, rpc.INTERNAL_ERROR)
        self.assertIn("result of 'add' must be an integer",
                      caught.exception.message)

    def test_stubs_generated_from_a_live_server(self):
        client = self.serve(Calculator())
        text = contract.python_stubs(client.describe(timeout=T),
                                     source='pipe calc')
        folder = Path(tempfile.mkdtemp(prefix='npipes-live-stubs-'))
        self.addCleanup(shutil.rmtree, folder)
        (folder / 'live_calc.py').write_text(text)
        spec = importlib.util.spec_from_file_location(
            'live_calc', folder / 'live_calc.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules['live_calc'] = module
        self.addCleanup(sys.modules.pop, 'live_calc')
        spec.loader.exec_module(module)
        calc = client.proxy(module.Calculator, timeout=T)
        self.assertEqual(calc.stats([4.0], 'red'),
                         module.Stats(1, 4.0, 'red'))
        self.assertEqual(calc.blob(b'ab'), b'ba')


class CliTests(unittest.TestCase):
    """python -m npipes rpc describe / stubs against the demo target."""

    def setUp(self):
        from npipes._cli_rpc import DEMO
        served = Served(DEMO)
        self.addCleanup(served.close)
        self.pipe = served.name

    def test_describe(self):
        code, out, err = cli_support.run(cli_support.PY_CLI, 'rpc',
                                         'describe', self.pipe, '--timeout',
                                         T)
        self.assertEqual((code, err), (0, ''))
        doc = json.loads(out)
        self.assertEqual(contract.check_document(doc), [])
        self.assertEqual([m['name'] for m in doc['methods']],
                         ['add', 'echo', 'fail', 'sleep', 'whoami'])
        # cancel and caller are injected, never on the wire.
        params = {m['name']: [p['name'] for p in m['params']]
                  for m in doc['methods']}
        self.assertEqual((params['sleep'], params['whoami']), (['ms'], []))

    def test_stubs_from_pipe_and_file_are_the_same_types(self):
        folder = Path(tempfile.mkdtemp(prefix='npipes-cli-stubs-'))
        self.addCleanup(shutil.rmtree, folder)
        runs = {}
        for lang in ('python', 'csharp'):
            runs[lang] = cli_support.run(
                cli_support.PY_CLI, 'rpc', 'stubs', self.pipe, '--lang',
                lang, '--timeout', T)
            self.assertEqual(runs[lang][0], 0, runs[lang][2])
        self.assertIn(f"rpc.discover on pipe '{self.pipe}'", runs['python'][1])
        self.assertIn('    def sleep(self, ms: int) -> int:',
                      runs['python'][1])
        self.assertIn('Task<string> EchoAsync(string text, '
                      'CancellationToken', runs['csharp'][1])
        code, out, _ = cli_support.run(cli_support.PY_CLI, 'rpc',
                                       'describe', self.pipe)
        (folder / 'demo.json').write_text(out)
        code, text, err = cli_support.run(
            cli_support.PY_CLI, 'rpc', 'stubs', folder / 'demo.json',
            '--lang', 'python')
        self.assertEqual(code, 0, err)
        self.assertIn('from demo.json', text)
        code, out, err = cli_support.run(
            cli_support.PY_CLI, 'rpc', 'stubs', folder / 'demo.json',
            '--lang', 'csharp', '--out', folder / 'Demo.cs')
        self.assertEqual((code, out, err), (0, '', ''))
        self.assertIn('EchoAsync(', (folder / 'Demo.cs').read_text())
        body = lambda t: t.split('\n', 3)[3]       # after the header
        self.assertEqual(body(text), body(runs['python'][1]))

    def test_stubs_of_a_file_that_is_not_openrpc(self):
        folder = Path(tempfile.mkdtemp(prefix='npipes-cli-stubs-'))
        self.addCleanup(shutil.rmtree, folder)
        (folder / 'bad.json').write_text('{"openrpc": "2.0"}')
        code, out, err = cli_support.run(
            cli_support.PY_CLI, 'rpc', 'stubs', folder / 'bad.json',
            '--lang', 'csharp')
        self.assertEqual((code, out), (4, ''))   # as .NET's DataError
        self.assertIn('not an OpenRPC document', err)


TYPED_PROGRAM = '''\
from typing import List, Protocol
from npipes import aio, rpc


class Calculator(Protocol):
    def add(self, a: int, b: int) -> int: ...


class CalculatorAsync(Protocol):
    async def add(self, a: int, b: int) -> int: ...


def use(client: rpc.RpcClient) -> int:
    calc = client.proxy(Calculator, timeout=5)
    total: int = calc.add(1, b=2)
    return total + calc.add(3, 4)


async def use_async(client: aio.RpcClient) -> List[int]:
    calc = client.proxy(CalculatorAsync, timeout=5)
    return [await calc.add(1, b=2)]
'''
WRONG_CALLS = {
    'sync': 'def wrong(c: rpc.RpcClient) -> str:\n'
            '    return c.proxy(Calculator).add("1", 2)\n',
    'aio': 'async def wrong(c: aio.RpcClient) -> None:\n'
           '    await c.proxy(CalculatorAsync).add(1, c=2)\n',
}


@unittest.skipUnless(shutil.which('mypy'), 'mypy is not installed')
class MypyTests(unittest.TestCase):
    """mypy --strict accepts correct client.proxy calls, rejects wrong ones."""

    def check(self, text):
        folder = Path(tempfile.mkdtemp(prefix='npipes-proxy-mypy-'))
        self.addCleanup(shutil.rmtree, folder)
        (folder / 'prog.py').write_text(text)
        run = subprocess.run(
            [shutil.which('mypy'), '--strict', '--no-incremental',
             '--cache-dir', str(folder / '.cache'), 'prog.py'],
            cwd=folder, capture_output=True, text=True,
            timeout=support.CHILD_TIMEOUT * 6,
            env={**os.environ, 'MYPYPATH': str(support.PYTHON_DIR)})
        return run.returncode, run.stdout

    def test_correct_calls_pass_and_wrong_ones_fail(self):
        code, out = self.check(TYPED_PROGRAM)
        self.assertEqual(code, 0, out)
        code, out = self.check(TYPED_PROGRAM + WRONG_CALLS['sync'])
        self.assertEqual(code, 1, out)
        self.assertIn('Argument 1 to "add" of "Calculator" has incompatible '
                      'type "str"', out)
        self.assertIn('Incompatible return value type (got "int", expected '
                      '"str")', out)
        code, out = self.check(TYPED_PROGRAM + WRONG_CALLS['aio'])
        self.assertEqual(code, 1, out)
        self.assertIn('Unexpected keyword argument "c" for "add" of '
                      '"CalculatorAsync"', out)


class AsyncTests(unittest.TestCase):

    def test_async_proxy_and_discover(self):
        async def main():
            name = support.pipe_name()
            server = await aio.start_rpc_server(name, Calculator())
            try:
                async with await aio.RpcClient.connect(name, timeout=T) \
                        as client:
                    calc = client.proxy(CalculatorApiAsync, timeout=T)
                    total = await calc.add(1, b=2)
                    stats = await calc.stats([3.0])
                    doc = await client.describe(timeout=T)
                    with self.assertRaises(aio.RemoteError) as caught:
                        await client.call('add', 1, 'x', timeout=T)
                    return total, stats, doc, caught.exception
            finally:
                await server.aclose()
        total, stats, doc, error = asyncio.run(main())
        self.assertEqual((total, stats), (3, Stats(1, 3.0, 'red')))
        self.assertEqual(doc['info']['title'], 'Calculator')
        self.assertEqual((error.code, error.message), (
            -32602, "invalid params for 'add': 'b' must be an integer, got "
                    "string 'x'"))


if __name__ == '__main__':
    unittest.main()
