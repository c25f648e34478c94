"""docs/access.md with real OS accounts and groups (CI runs as root): each
test class makes throwaway accounts and a group with random names and
deletes them after.  Peers run through setpriv with their own readable copy
of npipes (tests/other_user.py), supplementary groups set explicitly."""

import asyncio
import json
import os
import pwd
import secrets
import stat
import subprocess
import threading
import unittest

from tests import cli_support, other_user, support
from npipes import IPC, ROOT, aio, rpc, transport
from npipes.connection import connect
from npipes.errors import PipeAccessError, PipeTimeoutError
from npipes.listener import Listener, echo_handler

T = 10

#: argv: name, server_users (JSON), text.  Connects, sends text, prints
#: {"reply", "peer"} or {"error", "message"} as one JSON line.
CLIENT = r'''
import json, sys
from npipes import connect
name, trust, text = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
try:
    with connect(name, timeout=10, server_users=trust) as c:
        c.send(text)
        reply = c.recv(timeout=10)
        out = {"reply": reply.decode(), "peer": [c.peer.uid, c.peer.user]}
except Exception as exc:
    out = {"error": type(exc).__name__, "message": str(exc)}
print(json.dumps(out), flush=True)
'''

#: argv: name.  Serves echo to everyone until stdin closes.
SERVER = r'''
import sys, threading
from npipes import Listener
from npipes.listener import echo_handler
lis = Listener(sys.argv[1], allow_everyone=True)
threading.Thread(target=lis.serve_forever, args=(echo_handler,),
                 daemon=True).start()
print("listening", flush=True)
sys.stdin.read()
lis.close()
'''


def _run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class Accounts:
    """Throwaway users and groups (random names), removed by close()."""

    def __init__(self):
        self.users, self.groups = [], []

    def group(self):
        name = 'npg' + secrets.token_hex(4)
        _run(['groupadd', name])
        self.groups.append(name)
        return name

    def user(self, groups=()):
        """A new account (its own group as primary) also in the
        supplementary *groups* (names): (name, uid, gid)."""
        name = 'npu' + secrets.token_hex(4)
        sup = ['-G', ','.join(groups)] if groups else []
        _run(['useradd', '-M', '-r', '-U', '-s', '/usr/sbin/nologin', *sup,
              name])
        self.users.append(name)
        entry = pwd.getpwnam(name)
        return name, entry.pw_uid, entry.pw_gid

    def close(self):
        for name in self.users:
            subprocess.run(['userdel', name], stderr=subprocess.DEVNULL)
        for name in self.groups:
            subprocess.run(['groupdel', name], stderr=subprocess.DEVNULL)


def spawn(user, code, *args, groups=()):
    """``python3 -c code args`` as *user* (name, uid, gid) with exactly the
    supplementary *groups* (gids)."""
    _, uid, gid = user
    env = {'PATH': '/usr/bin:/bin', 'PYTHONDONTWRITEBYTECODE': '1',
           'PYTHONFAULTHANDLER': '1',
           'PYTHONPATH': other_user.readable_package()}
    if os.environ.get('TMPDIR'):
        env['TMPDIR'] = os.environ['TMPDIR']
    sup = ['--groups=' + ','.join(map(str, groups))] if groups \
        else ['--clear-groups']
    return subprocess.Popen(
        [other_user.SETPRIV, f'--reuid={uid}', f'--regid={gid}', *sup,
         other_user.SYSTEM_PYTHON, '-c', code, *map(str, args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd='/')


def stop(proc):
    """End a child we started and collect it."""
    if proc.poll() is None:
        proc.terminate()
    support.finish(proc)


def client_as(user, name, trust=(ROOT,), text='hi', groups=()):
    proc = spawn(user, CLIENT, name, json.dumps(list(trust)), text,
                 groups=groups)
    _, out, err = support.finish(proc)
    if not out.strip():
        raise AssertionError(f'client as {user[0]} printed nothing: {err}')
    return json.loads(out)


class AccountsTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        other_user.account()                 # root, setpriv, python: or skip
        cls.accounts = Accounts()
        try:
            cls.group = cls.accounts.group()
            cls.group2 = cls.accounts.group()
            cls.member = cls.accounts.user()
            cls.stranger = cls.accounts.user()
            cls.third = cls.accounts.user()
        except BaseException:
            cls.accounts.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.accounts.close()

    def setUp(self):
        self.name = support.pipe_name()

    def gid(self, group):
        import grp
        return grp.getgrnam(group).gr_gid


class ServerRuleTests(AccountsTestCase):

    def serve(self, **access):
        lis = Listener(self.name, **access)
        self.addCleanup(lis.close)
        t = threading.Thread(target=lis.serve_forever, args=(echo_handler,),
                             daemon=True)
        t.start()
        return lis

    def test_group_admits_a_supplementary_member_refuses_a_non_member(self):
        # two groups: the socket is 0666 and the kernel check decides
        lis = self.serve(allow_groups=[self.group, self.group2])
        self.assertEqual(stat.S_IMODE(os.lstat(lis.address).st_mode), 0o666)
        got = client_as(self.member, self.name,
                        groups=[self.gid(self.group)])
        self.assertEqual(got, {'reply': 'hi', 'peer': [0, 'root']})
        got = client_as(self.stranger, self.name, text='x' * 1000)
        self.assertIn(got.get('error'), ('ConnectionClosedError',))
        self.assertEqual(lis.refused_peers, 1)      # closed unread
        self.assertEqual(lis.active_connections, 0)

    def test_one_group_is_0660_and_keeps_the_others_out_at_connect(self):
        lis = self.serve(allow_groups=[self.group])
        st = os.lstat(lis.address)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_gid),
                         (0o660, self.gid(self.group)))
        got = client_as(self.member, self.name,
                        groups=[self.gid(self.group)])
        self.assertEqual(got['reply'], 'hi')
        got = client_as(self.stranger, self.name)
        self.assertEqual(got['error'], 'PipeAccessError')
        self.assertIn('belongs to another user and may not be connected to',
                      got['message'])

    def test_cli_allow_user_admits_exactly_that_user(self):
        proc = cli_support.spawn(cli_support.PY_CLI, 'echo', self.name,
                                 '--allow-user', self.member[0])
        self.addCleanup(stop, proc)
        line = cli_support.read_line(proc)
        self.assertTrue(line.startswith("npipes echo: serving"), line)
        self.assertEqual(client_as(self.member, self.name)['reply'], 'hi')
        got = client_as(self.stranger, self.name)
        self.assertEqual(got['error'], 'ConnectionClosedError')
        # a member of no listed group, whatever its groups
        got = client_as(self.third, self.name,
                        groups=[self.gid(self.group)])
        self.assertEqual(got['error'], 'ConnectionClosedError')


class CliIpcTests(AccountsTestCase):

    def test_receive_allow_user_takes_that_users_send(self):
        """``receive --allow-user`` (root) and the user's ``send
        --server-user root``: delivered; another user's send is dropped."""
        recv = cli_support.spawn(cli_support.PY_CLI, 'receive', self.name,
                                 '--allow-user', self.member[0],
                                 '--timeout', T)
        self.addCleanup(stop, recv)
        support.wait_for_path(transport.pipe_address(self.name), recv)
        cli = ('import sys\nfrom npipes.__main__ import main\n'
               'sys.exit(main(sys.argv[1:]))')
        other = spawn(self.stranger, cli, 'send', self.name, 'not yours',
                      '--server-user', 'root', '--timeout', 2)
        other.communicate(timeout=support.CHILD_TIMEOUT)
        mine = spawn(self.member, cli, 'send', self.name, 'from member',
                     '--server-user', 'root', '--timeout', T)
        _, err = mine.communicate(timeout=support.CHILD_TIMEOUT)
        self.assertEqual(mine.returncode, 0, err)
        out, _ = recv.communicate(timeout=support.CHILD_TIMEOUT)
        self.assertEqual(out.splitlines(), ['from member'])
        self.assertNotEqual(other.returncode, 0)


class ClientTrustTests(AccountsTestCase):

    def test_non_root_client_trusting_root_talks_to_a_root_server(self):
        with rpc.RpcServer(self.name, {'whoami': lambda caller:
                                       caller.as_dict()},
                           allow_users=[self.member[0]]) as server:
            threading.Thread(target=server.serve_forever, daemon=True).start()
            code = ('import json,sys\nfrom npipes import rpc, ROOT\n'
                    'with rpc.connect(sys.argv[1], 10, server_users=[ROOT])'
                    ' as c:\n    print(json.dumps([c.call("whoami", '
                    'timeout=10), __import__("os").getpid()]))')
            proc = spawn(self.member, code, self.name)
            out, err = proc.communicate(timeout=support.CHILD_TIMEOUT)
        who, pid = json.loads(out or 'null') or (None, None)
        self.assertEqual(who, {'pid': pid, 'uid': self.member[1],
                               'user': self.member[0], 'sid': None}, err)

    def test_a_server_of_a_third_account_is_refused_by_name(self):
        server = spawn(self.third, SERVER, self.name)
        self.addCleanup(stop, server)
        self.assertEqual(other_user.readline(server), 'listening')
        got = client_as(self.member, self.name)
        name, uid = self.third[0], self.third[1]
        self.assertEqual(got['error'], 'PipeAccessError')
        self.assertIn(f"runs as uid {uid} ({name}), which this client does "
                      f"not trust (trusted: current user, users [0])",
                      got['message'])
        self.assertIn(f'--server-user {name})', got['message'])
        # the option the message names admits it
        got = client_as(self.member, self.name, trust=(name,))
        self.assertEqual(got, {'reply': 'hi', 'peer': [uid, name]})



class ServerGroupTrustTests(AccountsTestCase):
    """§4 with ``server_groups``: a server of another account is trusted
    for a group it holds (supplementary as primary), and refused before a
    byte moves when it holds none the client names.  The server runs with
    its account's groups from /etc/group (setpriv --init-groups)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:            # in self.group as a supplementary group only
            cls.owner = cls.accounts.user(groups=[cls.group])
        except BaseException:
            cls.accounts.close()
            raise

    def serve_as_owner(self):
        server = other_user.spawn_as(self.owner[1:], SERVER, self.name,
                                     init_groups=True)
        self.addCleanup(stop, server)
        self.assertEqual(other_user.readline(server), 'listening')

    def refusal(self, rule):
        name, uid = self.owner[0], self.owner[1]
        return (f"The server on pipe '{self.name}' runs as uid {uid} "
                f"({name}), which this client does not trust (trusted: "
                f"current user, {rule}); refused before anything was sent "
                f"or read; to trust it, add it to server_users=[...] "
                f'(server_users=["{name}"]; CLI --server-user {name}), or one'
                f' of its groups to server_groups=[...] (CLI --server-group '
                f'NAME).')

    def test_clients_trusting_a_group_it_holds_are_answered(self):
        self.serve_as_owner()
        gid = self.gid(self.group)
        with connect(self.name, timeout=T, server_groups=[self.group]) as c:
            c.send('hi')
            self.assertEqual(c.recv(timeout=T), b'hi')
            self.assertEqual((c.peer.uid, c.peer.gids[0]), self.owner[1:])
            self.assertIn(gid, c.peer.gids)         # supplementary

        async def by_primary_gid():                 # an int entry, as is
            conn = await aio.connect(self.name, timeout=T,
                                     server_groups=[self.owner[2]])
            async with conn:
                await conn.send('aio')
                return await conn.recv(timeout=T)
        self.assertEqual(asyncio.run(by_primary_gid()), b'aio')
        code, out, err = cli_support.run(
            cli_support.PY_CLI, 'request', self.name, 'cli', '--server-group',
            self.group, '--timeout', T)
        self.assertEqual((code, out.strip()), (0, 'cli'), err)

    def test_clients_trusting_other_groups_refuse_it_before_a_byte(self):
        other = self.group2
        path = transport.pipe_address(self.name)
        with other_user.Squatter(self.owner[1:], path,
                                 init_groups=True) as squatter:
            with self.assertRaises(PipeAccessError) as cm:
                connect(self.name, timeout=T, server_groups=[other],
                        server_users=[ROOT])
            with self.assertRaises(PipeAccessError):
                asyncio.run(aio.connect(self.name, timeout=T,
                                        server_groups=[other]))
            with self.assertRaises(PipeAccessError):
                IPC(self.name, timeout=T,
                    server_groups=[other]).send_message('secret')
            clis = [cli_support.run(cli_support.PY_CLI, verb, self.name,
                                    'secret', '--server-group', other,
                                    '--timeout', T)
                    for verb in ('request', 'send')]
            counts = squatter.counts()
        self.assertEqual(counts, [0] * 5)
        self.assertEqual(str(cm.exception),
                         self.refusal(f'users [0], groups [{other}]'))
        for code, out, err in clis:
            self.assertEqual((code, out), (1, ''), err)
            self.assertIn(self.refusal(f'groups [{other}]'), err)


if __name__ == '__main__':
    unittest.main()
