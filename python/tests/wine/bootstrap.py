"""Run npipes' Windows code path on Linux CPython through the Wine-backed _winapi.

``install()`` must run before anything imports npipes:

1. import the standard library modules that read ``sys.platform`` when they
   are imported (asyncio, subprocess, socket, ...), so they stay Linux ones;
2. build winapi_helper.exe if needed (x86_64-w64-mingw32-gcc) and start it
   under Wine (winapi_proxy.start);
3. ``sys.modules['_winapi'] = winapi_proxy`` and ``sys.platform = 'win32'``;
4. import npipes: its one platform switch now picks the Windows transport;
5. set PYTHONPATH and NPIPES_WINE_CHILD so that child interpreters started by
   the tests do all this too (child/sitecustomize.py).

No hook in the package is used: npipes imports ``_winapi`` (only in
npipes/_windows.py) and reads ``sys.platform`` like any Windows program.

Environment: WINEPREFIX (default <repo>/.ci/out/python-windows/wineprefix),
NPIPES_WINAPI_HELPER (a prebuilt helper exe; default: built into
<repo>/.ci/out/python-windows/).
"""

import importlib
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parents[1]
REPO = PYTHON_DIR.parent
OUT = Path(os.environ.get('NPIPES_PYWIN_OUT', REPO / '.ci' / 'out' / 'python-windows'))

# Standard library modules that decide Linux-or-Windows at import time (or
# that npipes and its tests import): imported before sys.platform changes.
PRE_IMPORT = (
    'asyncio', 'asyncio.base_events', 'asyncio.unix_events', 'subprocess', 'socket',
    'selectors', 'select', 'signal', 'threading', 'tempfile', 'shutil', 'ctypes',
    'ctypes.util', 'json', 'logging', 'logging.handlers', 'argparse', 'uuid',
    'concurrent.futures', 'unittest', 'unittest.mock', 'platform', 'getpass',
    'locale', 'zlib', 'struct', 'mmap', 'pathlib', 'glob', 'fnmatch', 'stat',
    'random', 'secrets', 'hashlib', 'string', 'contextlib', 'functools',
    'textwrap', 'io', 'codecs', 'errno', 'queue', 'weakref', 'traceback',
    'warnings', 'inspect', 'dataclasses', 'typing', 'time', 'datetime',
    'pwd', 'grp', 'multiprocessing', 'shlex', 'webbrowser', 'urllib.parse',
)

sys.path.insert(0, str(PYTHON_DIR))
sys.path.insert(0, str(HERE))

import overlapped_proxy  # noqa: E402
import winapi_proxy  # noqa: E402


def _absent(name: str) -> types.ModuleType:
    """A module whose every attribute fails loudly (msvcrt: imported by
    asyncio.windows_utils, used only for subprocesses)."""
    module = types.ModuleType(name)

    def missing(attr: str) -> Any:
        if attr.startswith('__'):
            raise AttributeError(attr)
        winapi_proxy.MISSING.append(f'{name}.{attr}')
        raise AttributeError(f'{name}.{attr} is not provided under the Wine-backed _winapi')
    module.__getattr__ = missing      # type: ignore[attr-defined]
    return module


def wine_env() -> dict:
    """The environment for Wine programs: our prefix, no debug output."""
    env = dict(os.environ)
    env.setdefault('WINEPREFIX', str(OUT / 'wineprefix'))
    env.setdefault('WINEDEBUG', '-all')
    env.setdefault('WINEARCH', 'win64')
    # No winedbg: an unhandled exception ends the program instead of starting
    # Wine's debugger (as in .ci/wine-lane.sh).
    env.setdefault('WINEDLLOVERRIDES', 'mshtml=;winedbg.exe=d')
    return env


def ensure_prefix(env: dict) -> None:
    """Make the Wine prefix if it does not exist yet (wineboot, no mono)."""
    prefix = Path(env['WINEPREFIX'])
    if (prefix / 'system.reg').exists():
        return
    prefix.mkdir(parents=True, exist_ok=True)
    boot = dict(env, WINEDLLOVERRIDES='mscoree=;mshtml=;winedbg.exe=d')
    subprocess.run(['wineboot', '-i'], env=boot, check=True, timeout=180,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(['wineserver', '-w'], env=boot, timeout=60)


def helper_exe() -> Path:
    """winapi_helper.exe, rebuilt when its source is newer."""
    given = os.environ.get('NPIPES_WINAPI_HELPER')
    if given:
        return Path(given)
    src, exe = HERE / 'winapi_helper.c', OUT / 'winapi_helper.exe'
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run(['x86_64-w64-mingw32-gcc', '-O2', '-Wall', '-Wextra', '-Werror',
                        '-o', str(exe), str(src)], check=True, timeout=120)
    return exe


def install() -> None:
    """Switch this process to npipes' Windows path over the Wine-backed _winapi."""
    if sys.platform == 'win32':
        return
    for name in PRE_IMPORT:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    if 'npipes' in sys.modules:
        raise RuntimeError('bootstrap.install() must run before npipes is imported')
    env = wine_env()
    os.environ.update({k: env[k] for k in ('WINEPREFIX', 'WINEDEBUG', 'WINEARCH', 'WINEDLLOVERRIDES')})
    ensure_prefix(env)
    exe = helper_exe()
    winapi_proxy.start(['wine', str(exe)], env)
    # Child interpreters (tests that start `python -c ...`) bootstrap too.
    os.environ.update(NPIPES_WINE_CHILD='1', NPIPES_WINAPI_HELPER=str(exe), PYTHONPATH=os.pathsep.join(
        [str(HERE / 'child')] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    sys.modules['_winapi'] = winapi_proxy
    sys.modules['_overlapped'] = overlapped_proxy
    sys.modules['msvcrt'] = _absent('msvcrt')
    # npipes' ctypes security primitives (the access model), through the helper too
    import win32_proxy
    import win32shm_proxy
    sys.modules['npipes._win32'] = win32_proxy
    sys.modules['npipes._win32shm'] = win32shm_proxy
    win32_proxy.current_sid()     # read once now, not by the first two pipe ends at once
    sys.platform = 'win32'
    # What asyncio/__init__.py does on Windows: the proactor loop by default.
    import asyncio
    from asyncio import windows_events
    for name in windows_events.__all__:
        setattr(asyncio, name, getattr(windows_events, name))
    asyncio.set_event_loop_policy(windows_events.WindowsProactorEventLoopPolicy())
    import npipes  # noqa: F401  (its platform switch runs now, seeing win32)
    import npipes._windows
    if npipes._windows._winapi is not winapi_proxy:
        raise RuntimeError('npipes._windows did not import the Wine-backed _winapi')
    if npipes._windows._win32 is not sys.modules['npipes._win32']:
        raise RuntimeError('npipes._windows did not import the Wine-backed _win32')
    import npipes._winshm
    if npipes._winshm._win32shm is not win32shm_proxy:
        raise RuntimeError('npipes._winshm did not import the Wine-backed _win32shm')
