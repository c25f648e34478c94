"""The conformance cases of docs/access.md (test_conformance.py runs each as
its own test): the .NET and the Python CLI, as servers and as clients, with
the access flags, ``whoami``, and another OS user (as the other cases:
conformance_peers.py's roles run through setpriv)."""

import json
import os
import pwd
import stat
import sys

from tests import support
from tests.conformance_cases import _check, _clean, _fresh, _must_refuse
from tests.conformance_procs import (Proc, _dotnet, as_other_user, client,
                                     other_user, wait_serving)


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


def squatter_named(t, lang):
    """A client refusing another user's server names that user and the
    flag that would admit it (the same words in both languages)."""
    uid, _ = other_user()
    name, path = _fresh()
    sq = as_other_user('squat', path)
    try:
        t.assertEqual(sq.wait_line(), 'listening', sq.describe())
        cl = client(lang, 'request', name, 'the secret')
        problems = _must_refuse(cl, f'{lang} request')
        err = '\n'.join(cl.err).lower()    # (the .NET CLI starts lower case)
        user = _name_of(uid)
        for words in (f"The server on pipe '{name}' runs as uid {uid} "
                      f"({user}), which this client does not trust "
                      f"(trusted: current user); refused before anything "
                      f"was sent or read;", f'--server-user {user})'):
            if words.lower() not in err:
                problems.append(f'its error lacks {words!r}')
        sq.close_stdin()
        sq.finish()
        _check(t, problems, cl, sq)
    finally:
        sq.kill()
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
    return out


__all__ = ['cases', 'support']
