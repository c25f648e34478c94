#!/usr/bin/env python3
"""The python-windows lane's test run: npipes' Windows path through the
Wine-backed _winapi (bootstrap.py), tests ``python/tests/wine/wine_*.py``.

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


def main() -> int:
    names = sys.argv[1:]
    loader = unittest.defaultTestLoader
    suite = (loader.loadTestsFromNames(names) if names else
             loader.discover(start_dir=str(HERE), pattern='wine_*.py',
                             top_level_dir=str(bootstrap.PYTHON_DIR)))
    tests = list(run_tests.all_tests(suite))
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
