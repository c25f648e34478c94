"""docs/access.md on Wine's pipes, through the Wine-backed _win32
(win32_proxy.py): the DACL read back from a pipe holds exactly the allowed
SIDs plus the owner, both ends read the peer's token, the client's check
admits the current user, unknown names fail before the pipe exists.  What
Wine cannot show (a second account to refuse, elevation, a remote client)
is written in the README as untested; refusals are tested against models
(tests/test_access_windows_model.py)."""

import unittest

import win32_proxy
import winapi_proxy
from tests import support
from winesupport import T, in_thread
from npipes import LOCAL_SYSTEM, connect
from npipes.access import AccessEntryError
from npipes.listener import Listener


def _ace_sids(sddl):
    """The SIDs of the DACL's allow ACEs, in order, and the owner."""
    owner = sddl.split('O:', 1)[1].split('D:', 1)[0]
    aces = sddl.split('D:', 1)[1].split('(')[1:]
    return owner, [a.rstrip(')').split(';')[-1] for a in aces]


class AccessOnWine(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()
        self.me = win32_proxy.current_sid()

    def pending_handle(self, lis):
        return lis._server._pending

    def test_dacl_read_back_is_the_allow_list_plus_the_owner(self):
        with Listener(self.name, allow_users=[LOCAL_SYSTEM],
                      allow_groups=['S-1-5-32-545']) as lis:
            sddl = win32_proxy.pipe_dacl_sddl(self.pending_handle(lis))
        owner, sids = _ace_sids(sddl)
        self.assertEqual(owner, self.me, sddl)
        # Wine writes well-known SIDs by their SDDL aliases (SY, BU)
        self.assertEqual(sids, [self.me, 'SY', 'BU'], sddl)
        self.assertNotIn('WD', sddl)
        self.assertNotIn('AN', sddl)

    def test_default_dacl_is_the_owner_alone(self):
        with Listener(self.name) as lis:
            sddl = win32_proxy.pipe_dacl_sddl(self.pending_handle(lis))
        self.assertEqual(_ace_sids(sddl), (self.me, [self.me]), sddl)

    def test_both_ends_read_the_peer_and_trust_the_current_user(self):
        with Listener(self.name) as lis:
            accepted = in_thread(lambda: lis.accept(timeout=T))
            with connect(self.name, timeout=T) as c:
                with accepted() as s:
                    c.send('hi')
                    self.assertEqual(s.recv(timeout=T), b'hi')
                    helper = winapi_proxy.call('GetCurrentProcessId')[0]
                    for peer in (c.peer, s.peer):
                        self.assertEqual((peer.pid, peer.sid, peer.uid),
                                         (helper, self.me, None))
                        self.assertTrue(peer.user)

    def test_unknown_account_fails_before_the_pipe_exists(self):
        winapi_proxy.calls.clear()
        with self.assertRaises(AccessEntryError) as cm:
            Listener(self.name, allow_users=['no-such-account-npipes'])
        self.assertIn("There is no account named 'no-such-account-npipes'",
                      str(cm.exception))
        self.assertEqual([c for c, _ in winapi_proxy.calls
                          if c == 'CreateNamedPipe'], [])
