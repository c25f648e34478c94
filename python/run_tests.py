#!/usr/bin/env python3
"""Run every npipes test (unittest discovery under python/tests).

The last line printed is exactly ``python: N passed, N failed, N skipped``
(failed includes errors); skipped tests are listed with their reasons
above it.  Exits 1 if anything failed.
"""

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    sys.path.insert(0, str(HERE))
    suite = unittest.defaultTestLoader.discover(
        start_dir=str(HERE / 'tests'), top_level_dir=str(HERE))
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=1).run(suite)
    failed_ids = {test.id() if not hasattr(test, 'test_case')
                  else test.test_case.id()
                  for test, _ in result.failures + result.errors}
    failed_ids |= {t.id() for t in result.unexpectedSuccesses}
    skipped = len(result.skipped)
    failed = len(failed_ids)
    passed = result.testsRun - failed - skipped
    if result.skipped:
        print('skipped:')
        for test, reason in result.skipped:
            print(f'  {test.id()}: {reason}')
    print(f'python: {passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
