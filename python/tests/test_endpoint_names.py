"""docs/unix-endpoint.md §1: one set of name rules, the same as .NET's."""

import unittest

from tests import fake_win32, support
from npipes import _util, transport
from npipes.connection import connect
from npipes.errors import PipeNameError
from npipes.ipc import IPC
from npipes.listener import Listener

REFUSED = {
    '.': 'not a pipe name',
    '..': 'not a pipe name',
    'anonymous': 'reserved',
    'ANONYMOUS': 'reserved',
    'Anonymous': 'reserved',
    'anonymouſ': 'reserved',          # .NET folds by upper case: ſ -> S
    'lone\ud800surrogate': 'lone surrogate',
    '\udfff': 'lone surrogate',
    '': 'empty',
    'a/b': "'/'",
    'a\\b': "'\\\\'",
    'a\0b': 'NUL',
}
ACCEPTED = ['with space', 'new\nline', 'tab\there', '...', '.hidden',
            'anonymous2', 'x.anonymous', 'ünïcode', '😀', 'a:b*c?']


class NameRuleTests(unittest.TestCase):

    def test_refused_by_the_shared_rule(self):
        for name, why in REFUSED.items():
            with self.subTest(name=name):
                with self.assertRaises(PipeNameError) as cm:
                    _util.check_name(name)
                self.assertIn(why, str(cm.exception))

    def test_refused_by_every_entry_point(self):
        for name in REFUSED:
            for label, call in (
                    ('address', lambda: transport.pipe_address(name)),
                    ('Listener', lambda: Listener(name)),
                    ('connect', lambda: connect(name, timeout=0)),
                    ('IPC.send', lambda: IPC(name, timeout=0)
                     .send_message('x')),
                    ('IPC.receive', lambda: IPC(name, timeout=0)
                     .receive_message())):
                with self.subTest(name=name, entry=label):
                    with self.assertRaises(PipeNameError) as cm:
                        call()
                    self.assertIsInstance(cm.exception, ValueError)

    def test_other_characters_are_allowed(self):
        for name in ACCEPTED:
            with self.subTest(name=name):
                self.assertEqual(_util.check_name(name), name)
                self.assertTrue(transport.pipe_address(name).endswith(name))

    @unittest.skipUnless(support.IS_UNIX, 'Unix socket files')
    def test_odd_names_really_serve(self):
        for name in ('with space ' + support.pipe_name(),
                     'new\nline' + support.pipe_name()):
            with self.subTest(name=name):
                with Listener(name) as lis, connect(name, timeout=10) as c, \
                        lis.accept(timeout=10) as s:
                    c.send('odd')
                    self.assertEqual(s.recv_text(timeout=10), 'odd')


class WindowsNameLengthTests(unittest.TestCase):
    """\\\\.\\pipe\\ + name is at most 256 UTF-16 code units, as .NET counts."""

    @classmethod
    def setUpClass(cls):
        cls.win = fake_win32.load_windows_module()

    def test_limit(self):
        room = 256 - len('\\\\.\\pipe\\')
        self.assertTrue(self.win.pipe_address('n' * room))
        with self.assertRaisesRegex(PipeNameError, 'at most 256'):
            self.win.pipe_address('n' * (room + 1))
        with self.assertRaises(PipeNameError):      # 😀 is 2 code units
            self.win.pipe_address('n' * (room - 1) + '😀')

    def test_same_rules_as_unix(self):
        for name in REFUSED:
            with self.subTest(name=name):
                with self.assertRaises(PipeNameError):
                    self.win.pipe_address(name)


if __name__ == '__main__':
    unittest.main()
