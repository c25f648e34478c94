"""A Wine-backed ``npipes._win32``: the access primitives (docs/access.md)
run in winapi_helper.exe, as winapi_proxy's _winapi calls do.

Installed as ``sys.modules['npipes._win32']`` by bootstrap.py, so that
npipes/_winaccess.py and _windows.py run unchanged against Wine's security
calls (ConvertStringSecurityDescriptorToSecurityDescriptorW, CreateNamedPipeW
with it, OpenProcessToken, LookupAccountNameW/SidW, GetSecurityInfo).  "This
process" is the helper: it holds every pipe handle, so its token user is the
current user and its pid is what a pipe peer sees.
"""

from typing import Any, List, Optional, Tuple

import winapi_proxy

_me: List[str] = []


def _text(value: Any) -> str:
    return bytes(value).decode('utf-16-le')


def create_pipe(path: str, open_mode: int, pipe_mode: int,
                max_instances: int, out_size: int, in_size: int,
                sddl: str) -> int:
    handle: int = winapi_proxy.call('CreateNamedPipeSddl', path, open_mode,
                                    pipe_mode, max_instances, out_size,
                                    in_size, sddl)[0]
    # logged once created, as winapi_proxy.CreateNamedPipe does
    winapi_proxy.calls.append(('CreateNamedPipe', (path, open_mode, pipe_mode,
                                                   max_instances, out_size,
                                                   in_size)))
    return handle


def client_pid(handle: int) -> int:
    return int(winapi_proxy.call('GetNamedPipeClientProcessId', handle)[0])


def server_pid(handle: int) -> int:
    return int(winapi_proxy.call('GetNamedPipeServerProcessId', handle)[0])


def process_token(pid: int) -> Optional[Tuple[str, Tuple[str, ...]]]:
    try:
        values = winapi_proxy.call('ProcessToken', pid)
    except OSError:
        return None
    return _text(values[0]), tuple(_text(v) for v in values[1:])


def current_sid() -> str:
    if not _me:
        token = process_token(winapi_proxy.call('GetCurrentProcessId')[0])
        if token is None:
            raise OSError('the helper cannot read its own token')
        _me.append(token[0])
    return _me[0]


def account_sid(name: str) -> str:
    try:
        return _text(winapi_proxy.call('AccountSid', name)[0])
    except OSError as exc:
        # (imported here: npipes must not be imported before bootstrap's switch)
        from npipes.access import AccessEntryError
        raise AccessEntryError(f"There is no account named '{name}' on this "
                               f"system ({exc.strerror}).") from None


def sid_name(sid: str) -> Optional[str]:
    try:
        domain, name = (_text(v) for v in winapi_proxy.call('SidName', sid))
    except OSError:
        return None
    return f'{domain}\\{name}' if domain else name


def pipe_owner_sid(handle: int) -> Optional[str]:
    try:
        return _text(winapi_proxy.call('PipeSecurity', handle)[0])
    except OSError:
        return None


def pipe_dacl_sddl(handle: int) -> str:
    return _text(winapi_proxy.call('PipeSecurity', handle)[1])
