"""docs/access.md on Windows, against models: npipes/_windows.py and
_winaccess.py over tests/fake_winapi.py and tests/fake_win32.py (the ctypes
primitives of _win32.py replaced by a table of accounts and tokens).  What
the model cannot show (real tokens, a second account, remote clients) is the
Windows and Wine lanes' part."""

import unittest

from tests import fake_win32, fake_winapi, support
from npipes import ADMINISTRATORS, LOCAL_SYSTEM
from npipes.connection import connect
from npipes.errors import PipeAccessError, PipeTimeoutError
from npipes.listener import Listener

T = 10
ME, ALICE, STAFF = fake_win32.ME, fake_win32.ALICE, fake_win32.STAFF
OWN = f'O:{ME}D:P(A;;0x12019f;;;{ME})'


class WindowsAccessModelTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.win = fake_win32.load_windows_module()

    def setUp(self):
        fake_win32.use_windows_module(self, self.win)
        fake_win32.reset()
        self.addCleanup(fake_win32.reset)
        fake_winapi.calls.clear()
        self.name = support.pipe_name()

    def connect_once(self, **options):
        """connect() to a fresh listener of ours (a refused connect leaves
        its instance taken until accepted)."""
        with Listener(support.pipe_name()) as lis:
            return connect(lis.name, timeout=T, **options)

    def sddls(self):
        return [a for f, a in fake_winapi.calls if f == 'sddl']

    def test_default_descriptor_is_the_owner_alone(self):
        with Listener(self.name):
            self.assertEqual(self.sddls(), [OWN])

    def test_descriptor_holds_exactly_the_allowed_sids_plus_the_owner(self):
        with Listener(self.name, allow_users=['alice', LOCAL_SYSTEM, 'me',
                                              '1001'],
                      allow_groups=['staff', ADMINISTRATORS]):
            self.assertEqual(self.sddls(), [
                OWN + f'(A;;0x12019b;;;{ALICE})(A;;0x12019b;;;S-1-5-18)'
                f'(A;;0x12019b;;;{STAFF})(A;;0x12019b;;;S-1-5-32-544)'])

    def test_everyone_is_one_ace_without_create_instance(self):
        with Listener(self.name, allow_other_users=True):
            self.assertEqual(self.sddls(), [OWN + '(A;;0x12019b;;;WD)'])

    def test_unknown_account_fails_before_the_pipe_exists(self):
        with self.assertRaises(ValueError) as cm:
            Listener(self.name, allow_users=['nosuch'])
        self.assertIn("There is no account named 'nosuch' on this system (",
                      str(cm.exception))
        self.assertEqual(fake_winapi.calls, [])

    def test_server_reads_the_client_once_and_reports_it(self):
        with Listener(self.name) as lis:
            c = connect(self.name, timeout=T)
            with c, lis.accept(timeout=T) as s:
                self.assertEqual((s.peer.pid, s.peer.sid, s.peer.uid,
                                  s.peer.user),
                                 (fake_win32.CLIENT_PID, ME, None, 'HOST\\me'))
                self.assertEqual((c.peer.pid, c.peer.sid),
                                 (fake_win32.SERVER_PID, ME))

    def test_client_refuses_a_server_of_another_user_naming_it(self):
        fake_win32.TOKENS[fake_win32.SERVER_PID] = (ALICE, ())
        with Listener(self.name):
            with self.assertRaises(PipeAccessError) as cm:
                connect(self.name, timeout=T)
        self.assertEqual(str(cm.exception), (
                f"The server on pipe '{self.name}' runs as user HOST\\alice "
                f"({ALICE}), pid {fake_win32.SERVER_PID}, which this client "
                f"does not trust (trusted: current user); refused before "
                f"anything was sent or read; to trust it, add it to "
                f'server_users=[...] (server_users=["HOST\\alice"]; CLI '
                f"--server-user HOST\\alice)."))
        with self.connect_once(server_users=[ALICE]) as c:
            self.assertEqual(c.peer.sid, ALICE)

    def test_an_unreadable_server_token_falls_back_to_the_pipe_owner(self):
        fake_win32.TOKENS[fake_win32.SERVER_PID] = None
        fake_win32.OWNER[:] = ['S-1-5-18']
        with self.assertRaises(PipeAccessError):
            self.connect_once()
        with self.connect_once(server_users=[LOCAL_SYSTEM]) as c:
            self.assertEqual(c.peer.sid, 'S-1-5-18')

    def test_a_server_trusted_by_an_enabled_group_only(self):
        fake_win32.TOKENS[fake_win32.SERVER_PID] = ('S-1-5-18', (STAFF,))
        with self.assertRaises(PipeAccessError):
            self.connect_once(server_users=[ALICE])
        # a group the server holds is no user entry, but a group entry
        with self.assertRaises(PipeAccessError):
            self.connect_once(server_users=[STAFF])
        with self.assertRaises(PipeAccessError) as cm:
            self.connect_once(server_groups=[ADMINISTRATORS, '1001'])
        # the user form only, as .NET's: the pipe owner may have stood in
        # for an unreadable token, whose groups are then unknown
        self.assertTrue(str(cm.exception).endswith(
            '(trusted: current user, groups [S-1-5-32-544, 1001]); refused '
            'before anything was sent or read; to trust it, add it to '
            'server_users=[...] (server_users=["NT AUTHORITY\\SYSTEM"]; '
            'CLI --server-user NT AUTHORITY\\SYSTEM).'), str(cm.exception))
        for entry in ('staff', STAFF.lower()):     # a name, a SID any case
            with self.connect_once(server_groups=[entry]) as c:
                self.assertEqual(c.peer.sid, 'S-1-5-18')

    def test_server_closes_a_client_the_rule_does_not_admit(self):
        """Only if the DACL was changed under us: the token says no."""
        fake_win32.TOKENS[fake_win32.CLIENT_PID] = (ALICE, ())
        refused = []
        with Listener(self.name) as lis:
            lis._server.on_refused = refused.append
            with connect(self.name, timeout=T):
                with self.assertRaises(PipeTimeoutError):
                    lis.accept(timeout=0.3)
            self.assertEqual([p.sid for p in refused], [ALICE])

    def test_group_member_admitted_by_its_enabled_group(self):
        fake_win32.TOKENS[fake_win32.CLIENT_PID] = (ALICE, (STAFF,))
        with Listener(self.name, allow_groups=['staff']) as lis:
            with connect(self.name, timeout=T), lis.accept(timeout=T) as s:
                self.assertEqual(s.peer.sid, ALICE)

    def test_unreadable_client_token_leaves_the_dacl_decision(self):
        fake_win32.TOKENS[fake_win32.CLIENT_PID] = None
        with Listener(self.name) as lis:
            with connect(self.name, timeout=T), lis.accept(timeout=T) as s:
                self.assertIsNone(s.peer.sid)
                self.assertIsNone(s.peer.user)

    def test_remote_clients_flag_on_every_instance(self):
        with Listener(self.name):
            modes = [a[2] for f, a in fake_winapi.calls
                     if f == 'CreateNamedPipe']
        self.assertTrue(modes)
        for mode in modes:
            self.assertTrue(mode & self.win.PIPE_REJECT_REMOTE_CLIENTS)


if __name__ == '__main__':
    unittest.main()
