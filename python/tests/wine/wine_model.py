"""tests/test_windows_model.py's behaviour tests against REAL (Wine) pipes.

The same test bodies run with the Wine-backed _winapi in place of the
in-memory model: ``fake_winapi`` in that module is swapped for the proxy
(which logs the same ``calls`` and has the same constants), and npipes'
transport is already the Windows one (bootstrap.py).
"""

import unittest
from unittest import mock

import winapi_proxy
from tests import test_windows_model as model


class WindowsBehaviourOnWine(model.WindowsModelTests):
    """Every WindowsModelTests test, against Wine's named pipes."""

    @classmethod
    def setUpClass(cls):
        import npipes._windows
        cls.win = npipes._windows

    def setUp(self):
        super().setUp()
        patcher = mock.patch.object(model, 'fake_winapi', winapi_proxy)
        patcher.start()
        self.addCleanup(patcher.stop)
        winapi_proxy.calls.clear()

    @unittest.skip('Wine 8 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (a second '
                   'server is simply created); checked against the model only')
    def test_name_in_use(self):
        pass



def load_tests(loader, tests, pattern):
    """Only the Wine subclass: the base class (imported above as part of
    ``model``) is the model's own test, run by the Python lane."""
    return loader.loadTestsFromTestCase(WindowsBehaviourOnWine)
