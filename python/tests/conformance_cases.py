"""The cases of the conformance matrix (test_conformance.py runs each one as
its own test): what docs/unix-endpoint.md says must happen when peers of the
two languages meet each other, stale sockets, planted files and another OS
user. Each case is a function of an assertion-only TestCase and its
parameters; it starts its own processes (all bounded) on a fresh pipe name,
collects every way the peers broke the protocol, and fails with all of them.
"""

import os

from tests import support
from tests import conformance_peers as peers
from tests.conformance_planted import KINDS, Plant
from tests.conformance_procs import (BOUND, EXIT_TIMEOUT, as_other_user,
                                     client, is_socket, other_user, pipe_path,
                                     server, serving, wait_serving)


def _fresh():
    name = support.pipe_name()
    return name, pipe_path(name)


def _clean(path):
    """Remove a socket file a case's peers left at its own random path."""
    if is_socket(path):
        os.unlink(path)


def _check(t, problems, *procs):
    if problems:
        t.fail('; '.join(problems) + '\n  ' +
               '\n  '.join(p.describe() for p in procs if p is not None))


def _must_refuse(proc, what, went_ahead=lambda: False):
    """Watch a peer that must exit with an error at once; return what it did
    wrong. *went_ahead()* says it served or changed what is at the path:
    it is killed then, not left to its bound."""
    how = proc.watch(went_ahead)
    if how != 'exited':
        proc.kill()
    proc.finish()
    if how == 'condition':
        return [f'{what} went ahead: it served, or changed the file at the '
                'path']
    if how == 'bound':
        return [f'{what} hung (killed after {BOUND} s)']
    if proc.returncode < 0:
        return [f'{what} was killed by signal {-proc.returncode}']
    if proc.returncode == 0:
        return [f'{what} exited 0 (it went ahead)']
    if proc.returncode == EXIT_TIMEOUT:
        return [f'{what} waited for its timeout instead of failing at once']
    return []


def _answers(path, text):
    """[] if the server at *path* echoes *text*, else what went wrong."""
    try:
        reply = peers.echo_once(path, text, BOUND)
    except OSError as exc:
        return [f'the server at the path no longer answers ({exc!r})']
    return [] if reply == text.encode() else [f'bad echo reply {reply!r}']


# -- live and stale -----------------------------------------------------------

def live_round_trip(t, srv_lang, cl_lang):
    name, path = _fresh()
    srv = server(srv_lang, name)
    try:
        wait_serving(srv, path)
        text = f'live {srv_lang} to {cl_lang}'
        cl = client(cl_lang, 'request', name, text, timeout=15)
        cl.finish()
        t.assertEqual((cl.returncode, cl.out), (0, [text]), cl.describe())
    finally:
        srv.stop()
        exists = os.path.lexists(path)
        _clean(path)
    t.assertEqual(srv.returncode, 0, 'echo exits 0 on SIGTERM: ' +
                  srv.describe())
    t.assertFalse(exists, 'the server left its socket file behind (§9)')


def stale_server_reclaims(t, lang):
    name, path = _fresh()
    peers.make_stale(path)
    srv = server(lang, name)
    try:
        wait_serving(srv, path)
        t.assertEqual(_answers(path, 'after stale'), [], srv.describe())
    finally:
        srv.stop()
        _clean(path)


def stale_client_waits(t, lang):
    name, path = _fresh()
    peers.make_stale(path)
    before = _ident(path)
    try:
        cl = client(lang, 'request', name, timeout=1)
        cl.finish()
        t.assertEqual(cl.returncode, EXIT_TIMEOUT, cl.describe())
        t.assertEqual(_ident(path), before,
                      'a client never removes anything (§7)')
    finally:
        _clean(path)


def stale_send_reclaims(t, lang):
    """Ipc rendezvous (§8): a stale socket at the path is proven stale and
    removed, the sender serves the name, the next receiver gets the message,
    and the sender releases the name (§9)."""
    name, path = _fresh()
    peers.make_stale(path)
    stale = _ident(path)
    text = f'{lang} past a stale file'
    cl = client(lang, 'send', name, text, timeout=15)
    try:
        how = cl.watch(lambda: _ident(path) not in (stale, None))
        t.assertEqual(how, 'condition', 'the sender never replaced the stale '
                      'file: ' + cl.describe())
        t.assertEqual(peers.receive_once(path, BOUND), text.encode(),
                      cl.describe())
        cl.finish()
        t.assertEqual(cl.returncode, 0, cl.describe())
        t.assertFalse(os.path.lexists(path), 'the sender left its socket '
                      'file behind (§9)')
    finally:
        cl.kill()
        _clean(path)


# -- planted files (§3) -------------------------------------------------------

def planted(t, kind, lang, role):
    name, path = _fresh()
    plant = Plant(kind, path)
    proc = None
    try:
        if role == 'server':
            proc = server(lang, name)
            problems = _must_refuse(proc, f'{lang} server',
                                    lambda: serving(proc) or plant.moved())
        else:
            proc = client(lang, role, name)
            problems = _must_refuse(proc, f'{lang} {role}')
        problems = plant.changes() + problems
        err = '\n'.join(proc.err)
        if path not in err:
            problems.append('no error line names the path')
        if KINDS[kind].lower() not in err.lower():
            problems.append(f'the error does not say "{KINDS[kind]}"')
        _check(t, problems, proc)
    finally:
        if proc is not None:
            proc.kill()
        plant.close()


# -- a second server on a live name ------------------------------------------

def second_server_refused(t, first, second):
    name, path = _fresh()
    srv1 = server(first, name)
    srv2 = None
    try:
        wait_serving(srv1, path)
        ident = _ident(path)
        srv2 = server(second, name)
        problems = _must_refuse(srv2, 'the second server', lambda: serving(srv2)
                                or _ident(path) != ident)
        if name not in '\n'.join(srv2.err):
            problems.append('its error does not name the pipe')
        if _ident(path) != ident:
            problems.append('the first server\'s socket file was replaced')
        problems += _answers(path, 'still first')
        _check(t, problems, srv1, srv2)
    finally:
        for p in (srv2, srv1):
            if p is not None:
                p.stop()
        _clean(path)


def _ident(path):
    """Which file is at *path*: the inode alone is not enough (ext4 hands a
    freed inode number to the next file at once), its mtime (set when the
    socket is bound; link, unlink and chmod leave it) and owner tell. Not
    the mode: a server may still be setting it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_uid


# -- another OS user (§5, §6) -------------------------------------------------

def squatter_refused(t, lang, verb):
    """Another user's 0777 socket at the path, answering with a forged frame:
    the client refuses before a byte goes either way, and does not retry."""
    other_user()
    name, path = _fresh()
    sq = as_other_user('squat', path)
    try:
        t.assertEqual(sq.wait_line(), 'listening', sq.describe())
        cl = client(lang, verb, name, 'the secret')
        problems = _must_refuse(cl, f'{lang} {verb}')
        sq.close_stdin()
        sq.finish()
        if any(peers.FORGED.decode() in line for line in cl.out):
            problems.append('the client took the forged frame')
        counts = sq.out[-1].split() if len(sq.out) > 1 else ['?'] * 4
        if counts[3] != '0':
            problems.append(f'the squatter received {counts[3]} bytes')
        if counts[1] not in ('0', '1'):
            problems.append(f'the client connected {counts[1]} times')
        if name not in '\n'.join(cl.err):
            problems.append('its error does not name the pipe')
        _check(t, problems, cl, sq)
    finally:
        sq.kill()
        _clean(path)


def other_users_client_dropped(t, lang):
    other_user()
    name, path = _fresh()
    srv = server(lang, name)
    try:
        wait_serving(srv, path)
        os.chmod(path, 0o666)   # as a loose umask would: only §6 stands now
        fc = as_other_user('client', path)
        fc.finish()
        t.assertEqual(fc.out, ['closed'], 'another user\'s client must be '
                      'dropped unanswered: ' + fc.describe())
        t.assertEqual(_answers(path, 'mine'), [],
                      'the server stopped serving its own user')
    finally:
        srv.stop()
        _clean(path)


def other_users_stale_kept(t, lang):
    other_user()
    name, path = _fresh()
    maker = as_other_user('stale', path)
    srv = None
    try:
        maker.finish()
        t.assertEqual(maker.out, ['stale'], maker.describe())
        before = _ident(path)
        srv = server(lang, name)
        problems = _must_refuse(srv, f'{lang} server', lambda: serving(srv)
                                or _ident(path) != before)
        if _ident(path) != before:
            problems.append('another user\'s stale socket was removed')
        if name not in '\n'.join(srv.err):
            problems.append('its error does not name the pipe')
        _check(t, problems, srv)
    finally:
        if srv is not None:
            srv.kill()
        if os.path.lexists(path):
            os.unlink(path)     # the other user's, removed by the test (root)
