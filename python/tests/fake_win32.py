"""A stand-in for npipes/_win32.py (the ctypes security primitives) over
tests/fake_winapi.py, so that the Windows access code (_winaccess.py and
_windows.py) runs on any OS.  Accounts, tokens and pids are a table the
tests set; the descriptor given to each pipe is kept to be read back.  A
model, not Windows: the real calls run on Windows (and the Wine lane)."""

import importlib
import sys
from unittest import mock

from tests import fake_winapi
from npipes import transport
from npipes.access import AccessEntryError

ME = 'S-1-5-21-1000-2000-3000-1001'
ALICE = 'S-1-5-21-1000-2000-3000-1002'
STAFF = 'S-1-5-21-1000-2000-3000-2001'
#: pids GetNamedPipeClientProcessId / GetNamedPipeServerProcessId give.
CLIENT_PID, SERVER_PID = 1001, 2002
ACCOUNTS = {'me': ME, 'alice': ALICE, 'staff': STAFF,
            'SYSTEM': 'S-1-5-18', 'Administrators': 'S-1-5-32-544'}
NAMES = {ME: 'HOST\\me', ALICE: 'HOST\\alice', 'S-1-5-18':
         'NT AUTHORITY\\SYSTEM'}
#: pid -> (user SID, enabled group SIDs), or None: a token we cannot open.
TOKENS = {}
#: The owner SID GetSecurityInfo reports for every pipe.
OWNER = [ME]
_sddl = {}


def reset():
    TOKENS.clear()
    TOKENS.update({CLIENT_PID: (ME, ()), SERVER_PID: (ME, ())})
    OWNER[:] = [ME]


def create_pipe(path, open_mode, pipe_mode, max_instances, out_size,
                in_size, sddl):
    handle = fake_winapi.CreateNamedPipe(path, open_mode, pipe_mode,
                                         max_instances, out_size, in_size,
                                         0, fake_winapi.NULL)
    fake_winapi.calls.append(('sddl', sddl))
    _sddl[handle] = sddl
    return handle


def client_pid(handle):
    return CLIENT_PID


def server_pid(handle):
    return SERVER_PID


def process_token(pid):
    return TOKENS.get(pid)


def current_sid():
    return ME


def account_sid(name):
    if name not in ACCOUNTS:
        raise AccessEntryError(
            f"There is no account named '{name}' on this system (No "
            f"mapping between account names and security IDs was done.).")
    return ACCOUNTS[name]


def sid_name(sid):
    return NAMES.get(sid)


def pipe_owner_sid(handle):
    return OWNER[0]


def pipe_dacl_sddl(handle):
    return _sddl[handle]


def use_windows_module(test, win):
    """Patch npipes.transport to *win* (load_windows_module's) for *test*."""
    patcher = mock.patch.multiple(
        transport, PLATFORM='windows', pipe_address=win.pipe_address,
        connect=win.connect, rendezvous=win.rendezvous, Server=win.Server,
        Stream=win.Stream)
    patcher.start()
    test.addCleanup(patcher.stop)


def load_windows_module():
    """npipes._windows imported against fake_winapi and this module."""
    reset()
    with mock.patch.dict(sys.modules, {'_winapi': fake_winapi,
                                       'npipes._win32': sys.modules[__name__]}):
        sys.modules.pop('npipes._windows', None)
        sys.modules.pop('npipes._winaccess', None)
        module = importlib.import_module('npipes._windows')
    sys.modules.pop('npipes._windows', None)
    sys.modules.pop('npipes._winaccess', None)
    return module
