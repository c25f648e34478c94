#!/usr/bin/env python3
"""The python-windows lane's test run: npipes' Windows path through the
Wine-backed _winapi (bootstrap.py): the tests ``python/tests/wine/wine_*.py``
and the package's own transport-level test modules (PACKAGE_MODULES).

The last line printed is exactly ``python-windows: N passed, N failed, N skipped``
(counted as python/run_tests.py counts).  Exits 1 if anything failed, no
test ran, or the package asked the proxy for a _winapi name it lacks.
"""

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bootstrap  # noqa: E402  (first: before anything imports npipes)

bootstrap.install()

import run_tests      # noqa: E402  python/run_tests.py: the counting result
import winapi_proxy   # noqa: E402


#: The package's own test modules that run here too, on the Windows path
#: (their child interpreters as well: bootstrap.py), with these exceptions.
PACKAGE_MODULES = ['tests.test_connection', 'tests.test_ipc', 'tests.test_rpc',
                   'tests.test_rpc_internals', 'tests.test_aio', 'tests.test_listener_limits',
                   'tests.test_cli', 'tests.test_log_events', 'tests.test_fast_path']
_NO_FIRST_INSTANCE = ('Wine 8 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (a second server '
                      'is simply created)')
_UNIX_ONLY = 'written for Unix sockets (not marked so): '
SKIP = {
    'tests.test_aio.ConnectionTests.test_name_in_use_and_socket_removed_on_close':
        _NO_FIRST_INSTANCE,
    'tests.test_cli.EchoTests.test_echo_on_a_held_name_exit_1': _NO_FIRST_INSTANCE,
    'tests.test_cli.InterruptTests.test_interrupted_while_waiting':
        _UNIX_ONLY + 'waits for the socket file (support.wait_for_path)',
    'tests.test_log_events.LogEventTests.test_a_client_over_the_limit_is_a_refusal':
        _UNIX_ONLY + 'connects a raw AF_UNIX socket',
    'tests.test_log_events.LogEventTests.test_a_crc_mismatch_is_a_frame_error_with_its_type':
        _UNIX_ONLY + 'connects a raw AF_UNIX socket',
    'tests.test_rpc.CliTests.test_remote_error_is_one_line_exit_4':
        'OPEN: once (1 lane run in 5) its `python -m npipes rpc call` child hung for 20 s '
        'under the Wine-backed _winapi; 16 runs of the class alone passed. Kept out '
        'until understood, so the lane stays a verdict',
}


def skip_listed(tests: list) -> None:
    """Replace each test listed in SKIP by a skip with its reason."""
    for test in tests:
        reason = SKIP.get(test.id())
        if reason is not None:
            method = getattr(test, test._testMethodName)
            setattr(test, test._testMethodName, unittest.skip(reason)(method))


def main() -> int:
    names = sys.argv[1:]
    loader = unittest.defaultTestLoader
    if names:
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(start_dir=str(HERE), pattern='wine_*.py',
                                top_level_dir=str(bootstrap.PYTHON_DIR))
        suite.addTests(loader.loadTestsFromNames(PACKAGE_MODULES))
    tests = list(run_tests.all_tests(suite))
    skip_listed(tests)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=run_tests.CountingResult)
    result = runner.run(suite)
    outcomes, reasons, notes = run_tests.tally(tests, result)
    if winapi_proxy.MISSING:
        outcomes['winapi_proxy.MISSING'] = 'fail'
        notes.append('npipes asked the Wine-backed _winapi for names it does not '
                     f'provide: {sorted(set(winapi_proxy.MISSING))}')
    winapi_proxy.stop()
    return run_tests.summarize(outcomes, reasons, notes, tag='python-windows')


if __name__ == '__main__':
    sys.exit(main())
