"""Running a command line (this package's, or the .NET one) as a process:
bounded runs, the echo server's "serving" line, signals."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from tests import support

PY_CLI = [sys.executable, '-m', 'npipes']
#: The prog name ``python -m npipes`` shows in --help and in the "see
#: '... --help'" of a usage error.
PY_PROG = 'python -m npipes'


def _default_sigint():                     # runs in the child, before exec
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(cli, *args, stdin=None):
    """Start ``cli args...`` with piped text stdout/stderr.

    On Unix the child gets the default SIGINT action even if this process
    was started with SIGINT ignored (as a background job is), so that a
    test's SIGINT is Ctrl-C to it.
    """
    return subprocess.Popen(
        [*cli, *map(str, args)], stdin=stdin, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, encoding='utf-8',
        env=support.child_env(),
        preexec_fn=_default_sigint if support.IS_UNIX else None)


def run(cli, *args, stdin=None, timeout=support.CHILD_TIMEOUT):
    """Run ``cli args...`` to the end; return (exit code, stdout, stderr)."""
    p = subprocess.run([*cli, *map(str, args)], input=stdin,
                       capture_output=True, text=True, encoding='utf-8',
                       env=support.child_env(), timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def read_line(proc, timeout=support.CHILD_TIMEOUT):
    """The next line *proc* prints on stdout, waiting at most *timeout*
    seconds; fails (after killing it) if it prints none or exits first."""
    box = queue.Queue()
    threading.Thread(target=lambda: box.put(proc.stdout.readline()),
                     daemon=True).start()
    try:
        line = box.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        raise AssertionError(f'no line from {proc.args} in {timeout} s; '
                             f'stderr: {proc.communicate()[1]!r}')
    if not line:
        code, _, err = support.finish(proc)
        raise AssertionError(f'{proc.args} exited with {code} before '
                             f'printing a line; stderr: {err!r}')
    return line


#: Linux shows what a process sleeps in: /proc/PID/wchan.
CAN_SEE_WAITS = os.path.exists('/proc/self/wchan')


def wait_until_polling(proc, timeout=support.CHILD_TIMEOUT):
    """Wait until *proc*'s main thread sleeps in poll() (Linux): it waits
    for a peer, past the set-up of the pipe it serves.  Polls a condition,
    bounded; fails if *proc* exits or the time runs out."""
    end = time.monotonic() + timeout
    while True:
        try:
            with open(f'/proc/{proc.pid}/wchan') as f:
                if 'poll' in f.read():
                    return
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f'{proc.args} exited: {support.finish(proc)}')
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError(f'{proc.args} never waited in poll()')
        time.sleep(0.005)


def serving_line(name, max_connections=None, idle_timeout='none',
                 frame_timeout='none'):
    """What ``npipes echo NAME`` prints once it listens (both CLIs), with
    the limits it serves with ('none', or e.g. '0.2 s')."""
    from npipes import transport
    from npipes._limits import DEFAULT_MAX_CONNECTIONS
    if max_connections is None:        # the default: the same in both CLIs
        max_connections = DEFAULT_MAX_CONNECTIONS
    return (f"npipes echo: serving '{name}' at {transport.pipe_address(name)} "
            f"(max connections {max_connections}, idle timeout "
            f"{idle_timeout}, frame timeout {frame_timeout})\n")


def stop(proc, sig=signal.SIGTERM, timeout=support.CHILD_TIMEOUT):
    """Send *sig* to *proc* and wait; return (exit code, stdout, stderr).
    A process that does not stop is killed, and the test fails."""
    if proc.poll() is None:
        proc.send_signal(sig)
    return support.finish(proc, timeout)


def remove_socket_file(name):
    """Remove pipe *name*'s socket file if a killed process left it (this
    test's own random name)."""
    if support.IS_UNIX:
        from npipes import transport
        path = transport.pipe_address(name)
        if os.path.lexists(path):
            os.unlink(path)
