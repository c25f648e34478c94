"""Raw-socket peers for the conformance matrix (standard library only, no npipes).

Two uses:
- run as a script (``python3 -c <this file's source> ROLE PATH``), as another
  OS user through setpriv, to be the hostile side: ``squat`` (a 0777 server at
  the pipe path that answers with a forged frame and counts what it is sent),
  ``client`` (connects to our server and sends one frame), ``stale`` (binds the
  path and exits without unlinking);
- imported by the tests, as the current user: make a stale socket, and prove
  a server still answers (one request, frame in, same frame out) without going
  through either implementation under test.

It imports nothing from npipes, so neither implementation can mask a fault.
The frame is npipes 1.0.1's, big endian: MessageLength = DataLength + 8,
DataLength, Data, CRC-32 (0: no CRC).
"""

import os
import select
import socket
import struct
import sys
import time

FORGED = b'FORGED-BY-ANOTHER-USER'
LIFETIME = 60.0         # a hostile peer never outlives this many seconds


def frame(payload):
    """One npipes 1.0.1 frame, big endian, CRC field 0."""
    return struct.pack('>II', len(payload) + 8, len(payload)) + payload + \
        b'\0\0\0\0'


def _read_exact(sock, n):
    """Read exactly *n* bytes; fewer if the peer closes or resets first."""
    got = b''
    while len(got) < n:
        try:
            chunk = sock.recv(n - len(got))
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        got += chunk
    return got


def read_frame(sock):
    """The payload of one frame; None if the peer closed (or reset) first."""
    header = _read_exact(sock, 8)
    if len(header) < 8:
        return None
    total, size = struct.unpack('>II', header)
    if total != size + 8:
        raise ValueError(f'not an npipes frame: header {header.hex()}')
    rest = _read_exact(sock, size + 4)
    return rest[:size] if len(rest) == size + 4 else None


def echo_once(path, text, timeout):
    """Send one frame to the server at *path*; return the reply's payload.

    Raises OSError if it cannot connect, TimeoutError if it does not answer.
    """
    payload = text.encode('ascii')
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(frame(payload))
        return read_frame(s)


def receive_once(path, timeout):
    """Be the receiver of an Ipc sender serving *path*: connect (retrying
    while the file is missing or not yet listening), read one frame, close.
    Returns its payload (None if the sender closed first)."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect(path)
            return read_frame(s)
        except (ConnectionRefusedError, FileNotFoundError):
            if time.monotonic() > end:
                raise
            time.sleep(0.01)
        finally:
            s.close()


def make_stale(path):
    """A socket file at *path* that nobody listens on: bound, then closed
    without unlink (what a killed server leaves behind)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(path)
    finally:
        s.close()


def accepts(path):
    """True if a connect to *path* succeeds now (the probe is closed at once)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(path)
        except OSError:
            return False
        return True


# -- hostile roles, run as another user --------------------------------------

def _squat(path):
    """Serve *path* mode 0777; every client gets a forged frame at once.

    Runs until standard input closes (or LIFETIME); then prints
    ``connections N bytes M``: how many clients connected and how many
    bytes they sent in all.
    """
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(16)
    print('listening', flush=True)
    conns, total, count = [], 0, 0
    end = time.monotonic() + LIFETIME
    stdin = sys.stdin.fileno()
    while time.monotonic() < end:
        ready, _, _ = select.select([srv, stdin] + conns, [], [], 0.5)
        if stdin in ready:
            break
        if srv in ready:
            c, _ = srv.accept()
            count += 1
            conns.append(c)
            try:
                c.sendall(frame(FORGED))
            except OSError:
                pass
        for c in [c for c in conns if c in ready]:
            total, open_ = _take(c, total)
            if not open_:
                conns.remove(c)
                c.close()
    for c in conns:         # what a client sent before it went is buffered
        c.setblocking(False)
        open_ = True
        while open_:
            total, open_ = _take(c, total)
        c.close()
    srv.close()
    os.unlink(path)
    print(f'connections {count} bytes {total}', flush=True)


def _take(conn, total):
    """Read what is there; return (new total, still open)."""
    try:
        data = conn.recv(65536)
    except BlockingIOError:
        return total, False
    except OSError:
        return total, False
    return total + len(data), bool(data)


def _client(path):
    """Connect to our server, send one frame; print what came of it:
    ``denied`` (connect refused by the file mode), ``closed`` (accepted,
    then dropped: EOF or reset), ``silent`` (neither within 10 s) or
    ``reply:HEX`` (the first bytes it answered)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
    except PermissionError:
        print('denied', flush=True)
        return
    try:
        s.sendall(frame(b'from another user'))
        reply = s.recv(4096)        # any byte back at all is a reply
    except (ConnectionResetError, BrokenPipeError):
        reply = b''
    except TimeoutError:
        print('silent', flush=True)
        return
    print('reply:' + reply.hex() if reply else 'closed', flush=True)


def _stale(path):
    make_stale(path)
    print('stale', flush=True)


if __name__ == '__main__':
    {'squat': _squat, 'client': _client, 'stale': _stale}[sys.argv[1]](
        sys.argv[2])
