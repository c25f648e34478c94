"""Helpers of the python-windows lane's tests: the .NET peer under Wine, and
a way to know that a Python endpoint has reached a given kernel32 call
(so a test can order two sides without sleeping)."""

import contextlib
import os
import queue
import subprocess
import threading
from pathlib import Path
from unittest import mock

import winapi_proxy
from bootstrap import OUT, wine_env

T = 20                  # seconds: a guard, never a synchronisation
PEER = Path(os.environ.get('NPIPES_DOTNET_PEER', OUT / 'dotnet-peer' / 'DotnetPeer.exe'))


def peer_available() -> bool:
    return PEER.is_file()


NO_PEER = (f'the .NET peer {PEER} is not built (.ci/python-windows-lane.sh publishes it: '
           f'python/tests/wine/DotnetPeer)')


class DotnetPeer:
    """``DotnetPeer.exe ROLE ARGS...`` under Wine, in the proxy's wineserver."""

    def __init__(self, *args: str, stdin_text: str = None, keep_stdin: bool = False) -> None:
        env = dict(wine_env(), DOTNET_EnableWriteXorExecute='0')
        self.proc = subprocess.Popen(['wine', str(PEER), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True, errors='replace')
        self.lines: 'queue.Queue[str]' = queue.Queue()
        self.err: list = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=lambda: self.err.append(self.proc.stderr.read()),
                         daemon=True).start()
        if stdin_text is not None:
            self.proc.stdin.write(stdin_text + '\n')
        if keep_stdin:
            self.proc.stdin.flush()
        else:
            self.proc.stdin.close()

    def send_line(self, line: str) -> None:
        """One more line on the peer's standard input (keep_stdin=True)."""
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip('\r\n'))
        self.lines.put(None)

    def expect(self, prefix: str) -> str:
        """The next output line; it must start with *prefix*."""
        try:
            line = self.lines.get(timeout=T)
        except queue.Empty:
            raise AssertionError(f'.NET peer said nothing for {T} s (waiting for {prefix!r})')
        if line is None or not line.startswith(prefix):
            self.proc.wait(T)
            raise AssertionError(f'.NET peer said {line!r}, expected {prefix!r}; exit code '
                                 f'{self.proc.returncode}; stderr {"".join(self.err)[-2000:]!r}')
        return line

    def finish(self) -> int:
        try:
            return self.proc.wait(T)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError('.NET peer hung')

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def reached(call_name: str, entered: bool = False):
    """An Event set once any thread has made (returned from) _winapi.<call_name>,
    or with *entered* once a thread is about to make it (it may then block)."""
    done = threading.Event()
    real = getattr(winapi_proxy, call_name)

    def spy(*args, **kwargs):
        if entered:
            done.set()
        try:
            return real(*args, **kwargs)
        finally:
            done.set()
    with mock.patch.object(winapi_proxy, call_name, spy):
        yield done


def in_thread(fn):
    """Start fn() in a thread; the returned function joins it and returns its
    result (or raises its exception)."""
    box = {}

    def run():
        try:
            box['value'] = fn()
        except BaseException as exc:          # noqa: B902 - re-raised by result()
            box['error'] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result():
        t.join(T)
        if t.is_alive():
            raise AssertionError('thread did not finish')
        if 'error' in box:
            raise box['error']
        return box['value']
    return result


@contextlib.contextmanager
def echo_listener(name: str, **options):
    """A Listener answering every frame with itself, served in a thread
    until the block ends (then closed; its thread must end)."""
    from npipes.listener import Listener, echo_handler
    listener = Listener(name, **options)
    serving = threading.Thread(target=listener.serve_forever, args=(echo_handler,))
    serving.start()
    try:
        yield listener
    finally:
        listener.close()
        serving.join(T)
    if serving.is_alive():
        raise AssertionError('the listener thread did not end')
