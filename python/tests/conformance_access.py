"""The conformance cases of docs/access.md (test_conformance.py runs each as
its own test): the .NET and the Python CLI, as servers and as clients, with
the access flags, ``whoami``, and another OS user (as the other cases:
conformance_peers.py's roles run through setpriv)."""

import atexit
import json
import os
import pwd
import shutil
import stat
import sys
import tempfile
import threading
import unittest

from tests import support
from tests.conformance_cases import _check, _clean, _fresh, _must_refuse
from tests.conformance_procs import (CLIENT_TIMEOUT, OTHER_PYTHON, Proc,
                                     _dotnet, as_other_user, client,
                                     other_user, wait_serving)
from tests.other_user import readable_package
from tests.test_access_accounts import Accounts


def _cli(lang):
    return _dotnet() if lang == 'dotnet' else [sys.executable, '-m',
                                               'npipes']


def _name_of(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def whoami(t, srv_lang, cl_lang):
    """``rpc serve`` of one language answers ``rpc call ... whoami`` of the
    other with the calling process: its pid, uid and user name, no SID."""
    name, path = _fresh()
    srv = Proc([*_cli(srv_lang), 'rpc', 'serve', name], lang=srv_lang)
    try:
        wait_serving(srv, path)
        cl = Proc([*_cli(cl_lang), 'rpc', 'call', name, 'whoami',
                   '--timeout', 10])
        pid = cl._p.pid
        cl.finish()
        problems = [] if cl.returncode == 0 else [f'exit {cl.returncode}']
        try:
            got = json.loads(cl.out[-1])
        except (IndexError, ValueError):
            got = None
        want = {'pid': pid, 'uid': os.geteuid(),
                'user': _name_of(os.geteuid()), 'sid': None}
        if got != want:
            problems.append(f'whoami gave {got!r}, not {want!r}')
        _check(t, problems, cl, srv)
    finally:
        srv.stop()
        _clean(path)


def other_user_admitted(t, lang, how):
    """``echo --allow-user NAME`` / ``--allow-group GID``: the other user's
    client is answered (and, with one group, the socket file is 0660 with
    that group)."""
    uid, gid = other_user()
    name, path = _fresh()
    flag = ['--allow-user', _name_of(uid)] if how == 'user' \
        else ['--allow-group', str(gid)]
    srv = Proc([*_cli(lang), 'echo', name, *flag], lang=lang)
    try:
        wait_serving(srv, path)
        problems = []
        st = os.lstat(path)
        want = (0o666, st.st_gid) if how == 'user' else (0o660, gid)
        if (stat.S_IMODE(st.st_mode), st.st_gid) != want:
            problems.append(f'socket file mode {oct(st.st_mode)} group '
                            f'{st.st_gid}, not {oct(want[0])} group {want[1]}')
        fc = as_other_user('client', path)
        fc.finish()
        if not (fc.out and fc.out[-1].startswith('reply:')):
            problems.append(f'the admitted user was not answered: {fc.out}')
        _check(t, problems, srv, fc)
    finally:
        srv.stop()
        _clean(path)


def _lacks(cl, name, uid, rule):
    """What client *cl*'s refusal of the server of uid *uid* lacks of the
    words both languages give (docs/access.md §4), *rule* the trust rule."""
    err = '\n'.join(cl.err).lower()    # (the .NET CLI starts lower case)
    user = _name_of(uid)
    return [f'its error lacks {words!r}' for words in (
        f"The server on pipe '{name}' runs as uid {uid} ({user}), which this "
        f"client does not trust (trusted: {rule}); refused before anything "
        f"was sent or read;", f'--server-user {user})')
        if words.lower() not in err]


def squatter_named(t, lang):
    """A client refusing another user's server names that user and the
    flag that would admit it (the same words in both languages)."""
    uid, _ = other_user()
    name, path = _fresh()
    sq = as_other_user('squat', path)
    try:
        t.assertEqual(sq.wait_line(), 'listening', sq.describe())
        cl = client(lang, 'request', name, 'the secret')
        problems = _must_refuse(cl, f'{lang} request') + \
            _lacks(cl, name, uid, 'current user')
        sq.close_stdin()
        sq.finish()
        _check(t, problems, cl, sq)
    finally:
        sq.kill()
        _clean(path)


_group_lock = threading.Lock()
_group_setup = []
_cli_copy = []


def _group_account():
    """(account (name, uid, gid), trusted group, other group) for the
    server-group cases: a throwaway account in the trusted group as a
    supplementary group only; made once, deleted at exit."""
    other_user()             # root, setpriv, python, a sticky tmp: or skip
    with _group_lock:
        if not _group_setup:
            accounts = Accounts()
            atexit.register(accounts.close)
            trusted, untrusted = accounts.group(), accounts.group()
            _group_setup.append((accounts.user(groups=[trusted]), trusted,
                                 untrusted))
    return _group_setup[0]


def _readable_dotnet_cli():
    """The built .NET CLI's dll, in a world-readable copy of its folder
    (made once, removed at exit): the checkout may be in a 0700 folder."""
    dll = _dotnet()[-1]
    if not dll.endswith('.dll'):
        raise unittest.SkipTest(f'the .NET CLI is not a dll: {dll}')
    with _group_lock:
        if not _cli_copy:
            root = tempfile.mkdtemp(prefix='npipes-cli-')
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            shutil.copytree(os.path.dirname(dll), root, dirs_exist_ok=True)
            for folder, _, files in os.walk(root):
                os.chmod(folder, 0o755)
                for name in files:
                    os.chmod(os.path.join(folder, name), 0o644)
            _cli_copy.append(os.path.join(root, os.path.basename(dll)))
    return _cli_copy[0]


def _echo_as(lang, account, name):
    """``echo NAME --allow-everyone`` of *lang* run as *account* with its
    groups from /etc/group (setpriv --init-groups), from a readable copy."""
    env = {'PATH': '/usr/bin:/bin', 'LC_ALL': 'C.UTF-8'}
    if os.environ.get('TMPDIR'):
        env['TMPDIR'] = os.environ['TMPDIR']
    if lang == 'dotnet':
        dll = _readable_dotnet_cli()
        env.update(HOME=os.path.dirname(dll), DOTNET_NOLOGO='1',
                   DOTNET_CLI_HOME=os.path.dirname(dll))
        cli = ['/usr/bin/dotnet', dll]
    else:
        env.update(PYTHONPATH=readable_package(), PYTHONDONTWRITEBYTECODE='1')
        cli = [OTHER_PYTHON, '-m', 'npipes']
    _, uid, gid = account
    return Proc(['setpriv', f'--reuid={uid}', f'--regid={gid}',
                 '--init-groups', *cli, 'echo', name, '--allow-everyone'],
                env=env, cwd='/', lang=lang)


def server_group_trusted(t, srv_lang, cl_lang):
    """docs/access.md §4: a *srv_lang* server run by another account that
    holds group G as a supplementary group; the *cl_lang* client's
    ``request --server-group G`` is answered, and with ``--server-group H``
    it is refused at once, naming the server's user and the rule."""
    account, trusted, untrusted = _group_account()
    name, path = _fresh()
    srv = _echo_as(srv_lang, account, name)
    try:
        wait_serving(srv, path)
        ok = Proc([*_cli(cl_lang), 'request', name, 'hello', '--server-group',
                   trusted, '--timeout', 10])
        ok.finish()
        problems = [] if ok.returncode == 0 and ok.out == ['hello'] else \
            [f'trusting {trusted}, the client got {ok.out!r} '
             f'(exit {ok.returncode})']
        cl = Proc([*_cli(cl_lang), 'request', name, 'hello', '--server-group',
                   untrusted, '--timeout', CLIENT_TIMEOUT])
        problems += _must_refuse(cl, f'{cl_lang} request') + _lacks(
            cl, name, account[1], f'current user, groups [{untrusted}]')
        if 'or one of its groups' not in '\n'.join(cl.err) or \
                'CLI --server-group NAME)' not in '\n'.join(cl.err):
            problems.append(f'{cl_lang} refusal lacks the group form '
                            f'(docs/access.md §4): {cl.err!r}')
        _check(t, problems, ok, cl, srv)
    finally:
        srv.stop()
        _clean(path)


def cases(langs):
    """Test method name -> (case, arguments), for test_conformance.py."""
    out = {}
    for srv in langs:
        for cl in langs:
            out[f'test_whoami_{srv}_server_{cl}_client'] = (whoami, srv, cl)
    for lang in langs:
        for how in ('user', 'group'):
            out[f'test_other_user_admitted_by_{lang}_server_allow_{how}'] = (
                other_user_admitted, lang, how)
        out[f'test_other_user_squatter_named_by_{lang}_request'] = (
            squatter_named, lang)
    for srv in langs:
        for cl in langs:
            out[f'test_{cl}_client_trusts_a_group_of_a_{srv}_server'] = (
                server_group_trusted, srv, cl)
    return out


__all__ = ['cases', 'support']
