"""The conformance cases of docs/shared-memory.md (test_conformance.py runs
each as its own test): the .NET and the Python CLI with ``--shared-memory``,
each as server and as client of the other, moving payloads above the
threshold through shared memory, and a peer without the option refusing
them with a hint that names shared memory."""

import random
import string

from tests.conformance_access import _cli
from tests.conformance_cases import _check, _clean, _fresh
from tests.conformance_procs import BOUND, Proc, wait_serving

SIZES = (300 * 1024,)       # above the 64 KiB threshold, under the 16 MiB limit


def _text(size):
    """ASCII text of *size* bytes with no newline (the CLIs print a reply as
    one line)."""
    rnd = random.Random(size)
    alphabet = string.ascii_letters + string.digits
    return ''.join(rnd.choice(alphabet) for _ in range(size))


def _feed(proc, text):
    proc._p.stdin.write(text)
    proc.close_stdin()


def _flags(crc):
    return ['--shared-memory'] + (['--crc'] if crc else [])


def round_trip(t, srv_lang, cl_lang, crc):
    """``echo --shared-memory`` of one language answers ``request -
    --shared-memory`` of the other: the reply equals the request."""
    name, path = _fresh()
    srv = Proc([*_cli(srv_lang), 'echo', name, *_flags(crc)], lang=srv_lang)
    try:
        wait_serving(srv, path)
        problems = []
        for size in SIZES:
            text = _text(size)
            cl = Proc([*_cli(cl_lang), 'request', name, '-', *_flags(crc),
                       '--timeout', 15], stdin=True)
            _feed(cl, text)
            cl.finish(BOUND)
            if cl.returncode != 0:
                problems.append(f'{size} B: exit {cl.returncode}: '
                                f'{cl.err[-3:]!r}')
            elif cl.out != [text]:
                got = [len(line) for line in cl.out]
                problems.append(f'{size} B: the reply differs (lines of '
                                f'{got} chars)')
        _check(t, problems, srv)
    finally:
        srv.stop()
        _clean(path)


def send_receive(t, sender_lang, receiver_lang):
    """``send - --shared-memory`` of one language reaches ``receive
    --shared-memory`` of the other, CRC on."""
    name, path = _fresh()
    text = _text(SIZES[0])
    rcv = Proc([*_cli(receiver_lang), 'receive', name, *_flags(True),
                '--timeout', 15])
    snd = Proc([*_cli(sender_lang), 'send', name, '-', *_flags(True),
                '--timeout', 15], stdin=True)
    try:
        _feed(snd, text)
        snd.finish(BOUND)
        rcv.finish(BOUND)
        problems = []
        if (snd.returncode, rcv.returncode) != (0, 0):
            problems.append(f'exits: send {snd.returncode}, receive '
                            f'{rcv.returncode}')
        elif rcv.out != [text]:
            problems.append('the received text differs')
        _check(t, problems, snd, rcv)
    finally:
        snd.kill()
        rcv.kill()
        _clean(path)


def refused_without(t, srv_lang, cl_lang):
    """A server without ``--shared-memory`` refuses the descriptor frame of a
    client that has it: the client does not get an answer (it exits non-zero)
    and the server's error names shared memory."""
    name, path = _fresh()
    srv = Proc([*_cli(srv_lang), 'echo', name], lang=srv_lang)
    try:
        wait_serving(srv, path)
        cl = Proc([*_cli(cl_lang), 'request', name, '-', '--shared-memory',
                   '--timeout', 10], stdin=True)
        _feed(cl, _text(SIZES[0]))
        cl.finish(BOUND)
        problems = []
        if cl.returncode == 0:
            problems.append('the client exited 0 (it got an answer)')
        srv.stop()
        said = ' '.join(srv.err + srv.out).lower()
        if 'shared memory' not in said and 'shared-memory' not in said:
            problems.append('the server never named shared memory')
        _check(t, problems, cl, srv)
    finally:
        srv.stop()
        _clean(path)


def cases(langs):
    """Test method name -> (case, arguments), for test_conformance.py."""
    out = {}
    for srv in langs:
        for cl in langs:
            for crc in (False, True):
                out[f'test_shm_{srv}_server_{cl}_client'
                    f'{"_crc" if crc else ""}'] = (round_trip, srv, cl, crc)
            out[f'test_shm_{srv}_receiver_{cl}_sender'] = (send_receive, cl,
                                                           srv)
            out[f'test_shm_refused_by_{srv}_server_without_it_{cl}_client'] = (
                refused_without, srv, cl)
    return out
