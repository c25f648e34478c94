"""docs/access.md on Unix, as the current user (the tests with other OS
accounts are in test_access_accounts.py): the rule's words and entries, the
socket mode table, the kernel's peer identity on both ends, the client's
refusal wording, the rpc caller."""

import grp
import secrets
import os
import stat
import unittest
from unittest import mock

from tests import cli_support, support
from npipes import ROOT, _unix, rpc
from npipes.access import PeerIdentity, Rule
from npipes.connection import connect
from npipes.errors import PipeAccessError
from npipes.listener import Listener

T = 10


class RuleTests(unittest.TestCase):

    def test_words(self):
        self.assertEqual(str(Rule()), 'current user')
        self.assertEqual(str(Rule.of(['alice', 1001], ['staff'])),
                         'current user, users [alice, 1001], groups [staff]')
        self.assertEqual(str(Rule.of(['alice'], everyone=True)), 'everyone')

    def test_empty_entry_is_an_error_when_added(self):
        for bad in ('', '  '):
            with self.assertRaises(ValueError):
                Rule.of([bad])

    def test_one_string_is_one_entry(self):
        self.assertEqual(Rule.of('alice').users, ('alice',))

    def test_user_name_is_lazy_and_never_raises(self):
        calls = []

        def lookup():
            calls.append(1)
            raise KeyError('gone')
        peer = PeerIdentity(1, 2, None, (), lookup)
        self.assertEqual(calls, [])
        self.assertIsNone(peer.user)
        self.assertIsNone(peer.user)
        self.assertEqual(calls, [1])        # looked up once


@unittest.skipUnless(support.IS_UNIX, 'Unix sockets')
class UnixAccessTests(unittest.TestCase):

    def setUp(self):
        self.name = support.pipe_name()

    def mode(self, **access):
        with Listener(self.name, **access) as lis:
            st = os.lstat(lis.address)
            return stat.S_IMODE(st.st_mode), st.st_gid

    def test_mode_table(self):
        gid = os.getegid()
        other = next((g.gr_gid for g in grp.getgrall() if g.gr_gid != gid),
                     None)
        self.assertEqual(self.mode()[0], 0o600)
        self.assertEqual(self.mode(allow_users=['S-1-5-18'])[0], 0o600)
        self.assertEqual(self.mode(allow_groups=[str(gid)]), (0o660, gid))
        self.assertEqual(self.mode(allow_users=['0'])[0], 0o666)
        self.assertEqual(self.mode(allow_everyone=True)[0], 0o666)
        self.assertEqual(self.mode(allow_other_users=True)[0], 0o666)
        if other is not None:
            self.assertEqual(self.mode(allow_groups=[gid, other])[0], 0o666)

    def test_unknown_names_fail_before_the_name_is_touched(self):
        with self.assertRaises(ValueError) as cm:
            Listener(self.name, allow_users=['no-such-user-npipes'])
        self.assertEqual(str(cm.exception), "There is no user named "
                         "'no-such-user-npipes' on this system.")
        with self.assertRaises(ValueError) as cm:
            Listener(self.name, allow_groups=['no-such-group-npipes'])
        self.assertEqual(str(cm.exception), "There is no group named "
                         "'no-such-group-npipes' on this system.")
        with self.assertRaises(ValueError):
            connect(self.name, timeout=T, server_users=['no-such-user-np'])
        with self.assertRaises(ValueError) as cm:
            connect(self.name, timeout=T, server_groups=['no-such-group-np'])
        self.assertIn("no group named 'no-such-group-np'", str(cm.exception))
        self.assertFalse(os.path.lexists(_unix.pipe_address(self.name)))

    def test_peer_identity_on_both_ends(self):
        with Listener(self.name) as lis:
            with connect(self.name, timeout=T) as c, \
                    lis.accept(timeout=T) as s:
                for peer in (c.peer, s.peer):
                    self.assertEqual(peer.pid, os.getpid())
                    self.assertEqual(peer.uid, os.geteuid())
                    self.assertIsNone(peer.sid)
                    self.assertEqual(peer.gids[0], os.getegid())
                    self.assertEqual(set(peer.gids) - {os.getegid()},
                                     set(os.getgroups()) - {os.getegid()})

    def test_refusal_names_the_server_and_the_option(self):
        theirs = PeerIdentity(os.getpid(), 4242, None, (4242,),
                              lambda: 'alice')
        with Listener(self.name):
            with mock.patch.object(_unix, 'peer_identity',
                                   return_value=theirs):
                with self.assertRaises(PipeAccessError) as cm:
                    connect(self.name, timeout=T, server_users=[ROOT])
        self.assertEqual(str(cm.exception), (
            f"The server on pipe '{self.name}' runs as uid 4242 (alice), "
            f"which this client does not trust (trusted: current user, "
            f"users [0]); refused before anything was sent or read; to "
            f'trust it, add it to server_users=[...] (server_users='
            f'["alice"]; CLI --server-user alice).'))
        self.assertEqual(cm.exception.uid, 4242)

    def test_refusal_of_a_group_trusting_client_names_server_groups(self):
        """A client that trusts groups is told the group form too: a group
        the server holds would admit it."""
        theirs = PeerIdentity(os.getpid(), 4242, None, (4242, 4243))
        with Listener(self.name):
            with mock.patch.object(_unix, 'peer_identity',
                                   return_value=theirs):
                with self.assertRaises(PipeAccessError) as cm:
                    connect(self.name, timeout=T, server_groups=['777'])
        self.assertEqual(str(cm.exception), (
            f"The server on pipe '{self.name}' runs as uid 4242, which this "
            f"client does not trust (trusted: current user, groups [777]); "
            f"refused before anything was sent or read; to trust it, add it "
            f'to server_users=[...] (server_users=["4242"]; CLI --server-user'
            f' 4242), or one of its groups to server_groups=[...] (CLI '
            f'--server-group NAME).'))

    def test_admitted_by_uid_or_supplementary_group(self):
        """The rule against kernel identities: uid, then any group."""
        from npipes._unixaccess import UnixRule
        rule = UnixRule(Rule.of(['4242'], ['777']))
        me = os.geteuid()
        self.assertTrue(rule.admits(PeerIdentity(1, me)))
        self.assertTrue(rule.admits(PeerIdentity(1, 4242, gids=(1,))))
        self.assertTrue(rule.admits(PeerIdentity(1, 5000, gids=(5000, 777))))
        self.assertFalse(rule.admits(PeerIdentity(1, 5000, gids=(5000,))))
        self.assertFalse(rule.admits(PeerIdentity(1, None, gids=(777,))))

    def test_rpc_function_gets_its_caller(self):
        def whoami(caller):
            return caller.as_dict()
        with rpc.RpcServer(self.name, {'whoami': whoami}) as server:
            import threading
            t = threading.Thread(target=server.serve_forever, daemon=True)
            t.start()
            with rpc.connect(self.name, timeout=T) as client:
                got = client.call('whoami', timeout=T)
                with self.assertRaises(rpc.RemoteError):
                    client.call('whoami', caller=1, timeout=T)
        t.join(T)
        self.assertEqual(got, {'pid': os.getpid(), 'uid': os.geteuid(),
                               'user': support_user(), 'sid': None})


def support_user():
    import pwd
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return None


@unittest.skipUnless(support.IS_UNIX, 'Unix sockets')
class AioAccessTests(unittest.TestCase):

    def test_aio_server_and_client_see_each_other(self):
        import asyncio
        from npipes import aio

        async def main(name):
            lis = await aio.Listener.create(name, allow_groups=[os.getegid()])
            async with lis:
                mode = stat.S_IMODE(os.lstat(lis.address).st_mode)
                c = await aio.connect(name, timeout=T, server_users=[ROOT])
                s = await lis.accept(timeout=T)
                peers = (c.peer, s.peer)
                c.close()
                s.close()
            return mode, peers
        mode, peers = asyncio.run(main(support.pipe_name()))
        self.assertEqual(mode, 0o660)
        for peer in peers:
            self.assertEqual((peer.pid, peer.uid), (os.getpid(), os.geteuid()))


class CliAccessTests(unittest.TestCase):
    """The CLI's flags (the .NET CLI's spelling): an unknown name is a usage
    error (exit 2) naming it, before the pipe is touched."""

    def test_unknown_names_exit_2(self):
        missing = 'npx' + secrets.token_hex(6)
        for argv, kind in ((('echo', '{}', '--allow-user', missing), 'user'),
                           (('rpc', 'serve', '{}', '--allow-group', missing),
                            'group'),
                           (('request', '{}', 'x', '--server-user', missing),
                            'user'),
                           (('send', '{}', 'x', '--server-group', missing),
                            'group')):
            name = support.pipe_name()
            argv = [a.format(name) for a in argv]
            code, out, err = cli_support.run(cli_support.PY_CLI, *argv)
            self.assertEqual((code, out), (2, ''), err)
            if support.IS_UNIX:
                self.assertIn(f"no {kind} named '{missing}'", err)
                self.assertFalse(os.path.lexists(_unix.pipe_address(name)))


if __name__ == '__main__':
    unittest.main()
