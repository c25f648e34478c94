#!/usr/bin/env python3
"""Run every npipes test (unittest discovery under python/tests).

The last line printed is exactly ``python: N passed, N failed, N skipped``
(failed includes errors); skipped tests are listed with their reasons
above it.  Exits 1 if anything failed or no test ran.

It counts tests, not events: a class- or module-level skip, or an error in
setUpClass/setUpModule, counts once for every test it covers (unittest
itself reports each as one pseudo-test and leaves the covered tests out of
``testsRun``); an error in tearDownClass/tearDownModule is one failure more.
A test that ends with no outcome at all counts as failed.
"""

import re
import sys
import unittest
import unittest.util
from pathlib import Path

HERE = Path(__file__).resolve().parent

# unittest's name for a class- or module-level fixture error or skip:
# "setUpClass (tests.test_x.SomeTests)", "setUpModule (tests.test_x)".
FIXTURE = re.compile(
    r'^(?P<hook>setUpClass|tearDownClass|setUpModule|tearDownModule)'
    r' \((?P<parent>.+)\)$')


def all_tests(suite):
    """Every TestCase in *suite*, depth first."""
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from all_tests(item)
        else:
            yield item


def case_of(test):
    """The test a result event is about (a subtest's own test case)."""
    return getattr(test, 'test_case', test)


class CountingResult(unittest.TextTestResult):
    """Records one outcome per test id: 'pass', 'fail' or 'skip'.

    A failure is final: a later success or skip (another subtest, say)
    never hides it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}              # test id -> 'pass' | 'fail' | 'skip'
        self.reasons = {}               # test id -> skip reason
        self.fixtures = []              # (hook, parent, 'fail' | 'skip', reason)

    def _set(self, test, outcome, reason=None):
        if outcome != 'fail' and self.outcomes.get(test.id()) == 'fail':
            return
        self.outcomes[test.id()] = outcome
        if reason is not None:
            self.reasons[test.id()] = reason

    def _fixture(self, test, outcome, reason=''):
        m = FIXTURE.match(test.id()) if not isinstance(test, unittest.TestCase) else None
        if m is None:
            return False
        self.fixtures.append((m['hook'], m['parent'], outcome, reason))
        return True

    def addSuccess(self, test):
        super().addSuccess(test)
        self._set(test, 'pass')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        if not self._fixture(test, 'fail'):
            self._set(case_of(test), 'fail')

    def addError(self, test, err):
        super().addError(test, err)
        if not self._fixture(test, 'fail'):
            self._set(case_of(test), 'fail')

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._set(test, 'fail')

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if not self._fixture(test, 'skip', reason):
            self._set(case_of(test), 'skip', reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set(test, 'pass')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set(test, 'fail')


def tally(tests, result):
    """(outcome per test id, skip reasons, notes) with fixture events spread
    over the tests they cover; tests with no outcome count as failed."""
    outcomes, reasons, notes = dict(result.outcomes), dict(result.reasons), []
    owners = {t.id(): (unittest.util.strclass(type(t)), type(t).__module__)
              for t in tests}
    for hook, parent, outcome, reason in result.fixtures:
        covered = [tid for tid, (cls, mod) in owners.items()
                   if parent == (cls if hook.endswith('Class') else mod)]
        if hook.startswith('tearDown') or not covered:
            # The tests ran and have their own outcomes: the fixture's
            # error (or skip) is one outcome more.
            outcomes[f'{hook} ({parent})'] = outcome
            reasons[f'{hook} ({parent})'] = reason
            continue
        for tid in covered:
            if outcome == 'fail' or tid not in outcomes:
                outcomes[tid] = outcome
                if outcome == 'skip':
                    reasons[tid] = reason
        notes.append(f'{hook} ({parent}) {"failed" if outcome == "fail" else "skipped"}'
                     f': counted for its {len(covered)} test(s)')
    for tid in owners:
        if tid not in outcomes:
            outcomes[tid] = 'fail'
            notes.append(f'{tid}: no outcome recorded (counted as failed)')
    return outcomes, reasons, notes


def main():
    sys.path.insert(0, str(HERE))
    suite = unittest.defaultTestLoader.discover(
        start_dir=str(HERE / 'tests'), top_level_dir=str(HERE))
    tests = list(all_tests(suite))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1,
                                     resultclass=CountingResult)
    result = runner.run(suite)
    return summarize(*tally(tests, result), tag='python')


def summarize(outcomes, reasons, notes, tag):
    """Print notes, skips and the last line ``TAG: N passed, N failed, N
    skipped``; return the exit code (1 if anything failed or nothing ran).
    Also used by tests/wine/run.py (tag python-windows)."""
    values = list(outcomes.values())
    passed, failed, skipped = (values.count(o) for o in ('pass', 'fail', 'skip'))
    for note in notes:
        print(f'note: {note}')
    if skipped:
        print('skipped:')
        for tid, outcome in sorted(outcomes.items()):
            if outcome == 'skip':
                print(f'  {tid}: {reasons.get(tid, "")}')
    if not outcomes:
        print('error: no test was found or run')
    print(f'{tag}: {passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed or not outcomes else 0


if __name__ == '__main__':
    sys.exit(main())
