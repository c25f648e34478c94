"""The Windows security primitives of the access model (docs/access.md),
through ctypes (standard library only).

A handful of small functions, each one Windows call or a short fixed chain
of them, so that a test lane can replace this module with stand-ins of the
same names (the Wine lane runs them in a helper process; the model tests use
tests/fake_win32.py).  Everything above them (the rule, the descriptor text,
the checks) is _winaccess.py, plain Python.
"""

from __future__ import annotations

import ctypes
from ctypes import wintypes
from typing import Any, Callable, Optional, Tuple

from .access import AccessEntryError

__all__ = ['create_pipe', 'client_pid', 'server_pid', 'process_token',
           'current_sid', 'account_sid', 'sid_name', 'pipe_owner_sid',
           'pipe_dacl_sddl']

# (through getattr: these names exist in ctypes on Windows only, and the
# module type-checks on every platform)
_k32: Any = getattr(ctypes, 'WinDLL')('kernel32', use_last_error=True)
_adv: Any = getattr(ctypes, 'WinDLL')('advapi32', use_last_error=True)
_last_error: Callable[[], int] = getattr(ctypes, 'get_last_error')
_format_error: Callable[[int], str] = getattr(ctypes, 'FormatError')

SDDL_REVISION_1 = 1
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
TOKEN_QUERY = 0x0008
TOKEN_USER, TOKEN_GROUPS = 1, 2
SE_GROUP_ENABLED = 0x4
SE_GROUP_USE_FOR_DENY_ONLY = 0x10
SE_KERNEL_OBJECT = 6
OWNER_SECURITY_INFORMATION = 0x1
DACL_SECURITY_INFORMATION = 0x4
INVALID_HANDLE_VALUE = ctypes.c_void_p(-1).value
ERROR_INSUFFICIENT_BUFFER = 122


class _SECURITY_ATTRIBUTES(ctypes.Structure):
    _fields_ = [('nLength', wintypes.DWORD),
                ('lpSecurityDescriptor', ctypes.c_void_p),
                ('bInheritHandle', wintypes.BOOL)]


class _SID_AND_ATTRIBUTES(ctypes.Structure):
    _fields_ = [('Sid', ctypes.c_void_p), ('Attributes', wintypes.DWORD)]


def _fail(what: str) -> OSError:
    code = _last_error()
    return OSError(None, f'{what} failed: {_format_error(code)}',
                   None, code)


def _sid_text(sid: Any) -> str:
    text = wintypes.LPWSTR()
    if not _adv.ConvertSidToStringSidW(sid, ctypes.byref(text)):
        raise _fail('ConvertSidToStringSidW')
    try:
        return str(text.value)
    finally:
        _k32.LocalFree(text)


def create_pipe(path: str, open_mode: int, pipe_mode: int,
                max_instances: int, out_size: int, in_size: int,
                sddl: str) -> int:
    """CreateNamedPipeW with the security descriptor *sddl*; the handle is
    an ordinary one for _winapi's overlapped calls (OSError with winerror
    on failure, as _winapi.CreateNamedPipe)."""
    sd = ctypes.c_void_p()
    if not _adv.ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl, SDDL_REVISION_1, ctypes.byref(sd), None):
        raise _fail('ConvertStringSecurityDescriptorToSecurityDescriptorW')
    try:
        sa = _SECURITY_ATTRIBUTES(ctypes.sizeof(_SECURITY_ATTRIBUTES),
                                  sd.value, False)
        _k32.CreateNamedPipeW.restype = ctypes.c_void_p
        handle = _k32.CreateNamedPipeW(
            path, open_mode, pipe_mode, max_instances, out_size, in_size, 0,
            ctypes.byref(sa))
        if handle is None or handle == INVALID_HANDLE_VALUE:
            raise _fail('CreateNamedPipeW')
        return int(handle)
    finally:
        _k32.LocalFree(sd)


def _pid(call: Any, handle: int, what: str) -> int:
    pid = wintypes.ULONG()
    if not call(ctypes.c_void_p(handle), ctypes.byref(pid)):
        raise _fail(what)
    return int(pid.value)


def client_pid(handle: int) -> int:
    """GetNamedPipeClientProcessId: the connected client's pid."""
    return _pid(_k32.GetNamedPipeClientProcessId, handle,
                'GetNamedPipeClientProcessId')


def server_pid(handle: int) -> int:
    """GetNamedPipeServerProcessId: the pipe server's pid."""
    return _pid(_k32.GetNamedPipeServerProcessId, handle,
                'GetNamedPipeServerProcessId')


def _token_info(token: Any, kind: int) -> Any:
    size = wintypes.DWORD()
    _adv.GetTokenInformation(token, kind, None, 0, ctypes.byref(size))
    buf = ctypes.create_string_buffer(size.value)
    if not _adv.GetTokenInformation(token, kind, buf, size,
                                    ctypes.byref(size)):
        raise _fail('GetTokenInformation')
    return buf


def _token_of(process: Any) -> Tuple[str, Tuple[str, ...]]:
    token = wintypes.HANDLE()
    if not _adv.OpenProcessToken(process, TOKEN_QUERY, ctypes.byref(token)):
        raise _fail('OpenProcessToken')
    try:
        user = _token_info(token, TOKEN_USER)
        sid = _sid_text(_SID_AND_ATTRIBUTES.from_buffer(user).Sid)
        raw = _token_info(token, TOKEN_GROUPS)
        count = wintypes.DWORD.from_buffer(raw).value
        offset = ctypes.sizeof(ctypes.c_void_p)      # DWORD, then aligned
        entries = (_SID_AND_ATTRIBUTES * count).from_buffer(raw, offset)
        groups = tuple(
            _sid_text(e.Sid) for e in entries
            if e.Attributes & SE_GROUP_ENABLED
            and not e.Attributes & SE_GROUP_USE_FOR_DENY_ONLY)
        return sid, groups
    finally:
        _k32.CloseHandle(token)


def process_token(pid: int) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """(user SID, enabled group SIDs) of process *pid*, or None when its
    token cannot be opened (a more privileged process)."""
    _k32.OpenProcess.restype = ctypes.c_void_p
    process = _k32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not process:
        return None
    try:
        return _token_of(ctypes.c_void_p(process))
    except OSError:
        return None
    finally:
        _k32.CloseHandle(ctypes.c_void_p(process))


def current_sid() -> str:
    """This process's token user SID."""
    _k32.GetCurrentProcess.restype = ctypes.c_void_p
    return _token_of(ctypes.c_void_p(_k32.GetCurrentProcess()))[0]


def account_sid(name: str) -> str:
    """LookupAccountNameW: the SID of account or group *name*; ValueError
    (docs/access.md §1's wording) if there is none."""
    sid_size, domain_size = wintypes.DWORD(0), wintypes.DWORD(0)
    use = wintypes.DWORD()
    _adv.LookupAccountNameW(None, name, None, ctypes.byref(sid_size), None,
                            ctypes.byref(domain_size), ctypes.byref(use))
    sid = ctypes.create_string_buffer(max(sid_size.value, 1))
    domain = ctypes.create_unicode_buffer(max(domain_size.value, 1))
    if not _adv.LookupAccountNameW(None, name, sid, ctypes.byref(sid_size),
                                   domain, ctypes.byref(domain_size),
                                   ctypes.byref(use)):
        reason = _format_error(_last_error()).strip()
        raise AccessEntryError(f"There is no account named '{name}' on this "
                         f"system ({reason}).")
    return _sid_text(sid)


def sid_name(sid: str) -> Optional[str]:
    """LookupAccountSidW: ``DOMAIN\\user`` of *sid*, or None."""
    raw = ctypes.c_void_p()
    if not _adv.ConvertStringSidToSidW(sid, ctypes.byref(raw)):
        return None
    try:
        name, domain = (ctypes.create_unicode_buffer(256) for _ in range(2))
        n, d, use = wintypes.DWORD(256), wintypes.DWORD(256), wintypes.DWORD()
        if not _adv.LookupAccountSidW(None, raw, name, ctypes.byref(n),
                                      domain, ctypes.byref(d),
                                      ctypes.byref(use)):
            return None
        return f'{domain.value}\\{name.value}' if domain.value else name.value
    finally:
        _k32.LocalFree(raw)


def _security(handle: int, what: int) -> Tuple[Any, Any]:
    owner, sd = ctypes.c_void_p(), ctypes.c_void_p()
    err = _adv.GetSecurityInfo(ctypes.c_void_p(handle), SE_KERNEL_OBJECT,
                               what, ctypes.byref(owner), None, None, None,
                               ctypes.byref(sd))
    if err:
        raise OSError(None, f'GetSecurityInfo failed ({err})', None, err)
    return owner, sd


def pipe_owner_sid(handle: int) -> Optional[str]:
    """The owner SID of the pipe object behind *handle*, or None."""
    try:
        owner, sd = _security(handle, OWNER_SECURITY_INFORMATION)
    except OSError:
        return None
    try:
        return _sid_text(owner)
    finally:
        _k32.LocalFree(sd)


def pipe_dacl_sddl(handle: int) -> str:
    """The owner and DACL of the pipe behind *handle*, as SDDL (to read
    back what create_pipe set)."""
    _, sd = _security(handle, OWNER_SECURITY_INFORMATION
                      | DACL_SECURITY_INFORMATION)
    try:
        text = wintypes.LPWSTR()
        if not _adv.ConvertSecurityDescriptorToStringSecurityDescriptorW(
                sd, SDDL_REVISION_1,
                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                ctypes.byref(text), None):
            raise _fail('ConvertSecurityDescriptorToStringSecurityDescriptorW')
        try:
            return str(text.value)
        finally:
            _k32.LocalFree(text)
    finally:
        _k32.LocalFree(sd)
