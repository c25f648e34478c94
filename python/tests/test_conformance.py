"""The conformance matrix of docs/unix-endpoint.md: the .NET CLI and the Python
CLI, as servers and as clients, against each other and against what may be at
the pipe path (a live server, a stale socket, a planted file, another user).

Every combination is its own test method (generated below from CASES; the
cases themselves are in conformance_cases.py). The cases run concurrently in
a thread pool started by setUpClass (each one is a few processes, each
bounded by conformance_procs.BOUND); a test method waits for its own case and
reports its outcome. Unix only; needs the .NET CLI ($NPIPES_CLI, as test.sh
sets it, or a build); the second-user cases need root and setpriv, and are
skipped with the reason otherwise.
"""

import unittest
from concurrent.futures import ThreadPoolExecutor

from tests import conformance_access, conformance_shm, support
from tests.conformance_cases import (live_round_trip, other_users_client_dropped,
                                     other_users_stale_kept, planted,
                                     second_server_refused, squatter_refused,
                                     stale_client_waits, stale_send_reclaims,
                                     stale_server_reclaims)
from tests.conformance_planted import KINDS
from tests.conformance_procs import LANGS

WORKERS = 6             # processes mostly wait: more cases than cores at once
MATRIX_BOUND = 600      # the longest a test waits for its case (queue included)
CLIENTS = [(lang, verb) for verb in ('request', 'send', 'receive')
           for lang in LANGS]
PLANT_ROLES = [(lang, 'server') for lang in LANGS] + \
    [(lang, verb) for verb in ('request', 'send') for lang in LANGS]


def _matrix():
    """Test method name -> (case function, its arguments)."""
    cases = {}
    for srv in LANGS:
        for cl in LANGS:
            cases[f'test_live_{srv}_server_{cl}_client'] = (live_round_trip,
                                                            srv, cl)
    for lang in LANGS:
        cases[f'test_stale_{lang}_server_reclaims'] = (stale_server_reclaims,
                                                       lang)
        cases[f'test_stale_{lang}_request_times_out'] = (stale_client_waits,
                                                         lang)
        cases[f'test_stale_{lang}_send_reclaims'] = (stale_send_reclaims, lang)
    for kind in KINDS:
        for lang, role in PLANT_ROLES:
            cases[f'test_planted_{kind}_{lang}_{role}'] = (planted, kind, lang,
                                                           role)
    for first in LANGS:
        for second in LANGS:
            cases[f'test_second_{second}_server_refused_by_{first}_server'] = (
                second_server_refused, first, second)
    for lang, verb in CLIENTS:
        cases[f'test_other_user_squatter_refused_by_{lang}_{verb}'] = (
            squatter_refused, lang, verb)
    for lang in LANGS:
        cases[f'test_other_user_client_dropped_by_{lang}_server'] = (
            other_users_client_dropped, lang)
        cases[f'test_other_user_stale_kept_by_{lang}_server'] = (
            other_users_stale_kept, lang)
    cases.update(conformance_access.cases(LANGS))      # docs/access.md
    cases.update(conformance_shm.cases(LANGS))         # docs/shared-memory.md
    return cases


CASES = _matrix()


def _run_case(name):
    fn, *args = CASES[name]
    t = unittest.TestCase()
    t.maxDiff = None
    fn(t, *args)


@unittest.skipUnless(support.IS_UNIX, 'Unix only: Windows has no files at the '
                     'pipe path (its lane tests names and the peer rule)')
class ConformanceMatrix(unittest.TestCase):
    planned = None          # the cases this run will ask for (load_tests)

    @classmethod
    def setUpClass(cls):
        cli, reason = support.dotnet_cli()
        if cli is None:
            raise unittest.SkipTest(reason)
        cls._pool = ThreadPoolExecutor(WORKERS, 'conformance')
        cls._futures = {n: cls._pool.submit(_run_case, n)
                        for n in (cls.planned or ())}

    @classmethod
    def tearDownClass(cls):
        cls._pool.shutdown(wait=True, cancel_futures=True)

    def _await_case(self):
        name = self._testMethodName
        future = self._futures.get(name) or self._pool.submit(_run_case, name)
        future.result(MATRIX_BOUND)


def _test_method(name):
    def test(self):
        self._await_case()
    test.__name__ = test.__qualname__ = name
    return test


for _name in CASES:
    setattr(ConformanceMatrix, _name, _test_method(_name))


def _tests(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _tests(test)
        else:
            yield test


def load_tests(loader, tests, pattern):
    """Note which cases will run, so setUpClass can start them all at once."""
    ConformanceMatrix.planned = [t._testMethodName for t in _tests(tests)
                                 if isinstance(t, ConformanceMatrix)]
    return tests


if __name__ == '__main__':
    unittest.main()
