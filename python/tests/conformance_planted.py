"""Files planted at a pipe path (docs/unix-endpoint.md §3), and the proof that
a peer left each one exactly as it was: never opened, followed, deleted,
replaced or chmod-ed.

Each kind keeps what it needs to notice a touch: an lstat snapshot (inode,
mode, size, owner, links, mtime; atime too for the regular file, which a read
would advance under relatime), the link target, a directory's entries; the
FIFO has a writer blocked in open() that any reader's open() would release;
the symlink to a live socket has its listener checked for a connection; the
dangling symlink's target must still not exist.
"""

import os
import socket
import stat
import tempfile
import threading
import time

from tests.conformance_procs import temp_dir

# kind -> the words docs/unix-endpoint.md §3 says the error names it by
KINDS = {
    'regular_file': 'regular file',
    'symlink_to_live_socket': 'symbolic link',
    'dangling_symlink': 'symbolic link',
    'symlink_loop': 'symbolic link',
    'fifo': 'FIFO',
    'directory': 'directory',
}
CONTENT = b'someone\'s data, not a socket\n'


class Plant:
    """One planted file at *path* (remove it with close())."""

    def __init__(self, kind, path):
        self.kind, self.path = kind, path
        # Ours, beside the path (same file system, for link()).
        self.aside = tempfile.mkdtemp(prefix='.conformance-', dir=temp_dir())
        self._listener = self._writer = None
        getattr(self, '_make_' + kind)()
        self.before = self._snapshot()

    # -- the kinds ------------------------------------------------------------
    def _make_regular_file(self):
        with open(self.path, 'xb') as f:
            f.write(CONTENT)
        os.chmod(self.path, 0o644)

    def _make_symlink_to_live_socket(self):
        target = os.path.join(self.aside, 'live.sock')
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(target)
        self._listener.listen(16)
        self._listener.setblocking(False)
        os.symlink(target, self.path)

    def _make_dangling_symlink(self):
        os.symlink(os.path.join(self.aside, 'nothing-here'), self.path)

    def _make_symlink_loop(self):
        os.symlink(os.path.basename(self.path), self.path)   # points at itself

    def _make_fifo(self):
        os.mkfifo(self.path, 0o600)
        # A second name for it, so the writer can always be released.
        os.link(self.path, os.path.join(self.aside, 'fifo'))
        tid, self._writer_fd = [], []

        def writer():
            tid.append(threading.get_native_id())
            self._writer_fd.append(os.open(self.path, os.O_WRONLY))
        self._writer = threading.Thread(target=writer, daemon=True)
        self._writer.start()
        _wait_blocked_in_fifo_open(self._writer, tid)

    def _make_directory(self):
        os.mkdir(self.path, 0o755)
        with open(os.path.join(self.path, 'keep'), 'wb') as f:
            f.write(CONTENT)

    # -- the proof ------------------------------------------------------------
    def _snapshot(self):
        try:
            st = os.lstat(self.path)
        except OSError as exc:
            return {'lstat': f'gone ({exc.strerror})'}
        snap = {'ino': st.st_ino, 'mode': oct(st.st_mode), 'size': st.st_size,
                'uid': st.st_uid, 'nlink': st.st_nlink,
                'mtime_ns': st.st_mtime_ns}
        if stat.S_ISLNK(st.st_mode):
            snap['target'] = os.readlink(self.path)
        if stat.S_ISREG(st.st_mode):
            snap['atime_ns'] = st.st_atime_ns     # a read would advance it
        if stat.S_ISDIR(st.st_mode):
            snap['entries'] = sorted(os.listdir(self.path))
        return snap

    def moved(self):
        """True once what lstat shows at the path is not what was planted."""
        return self._snapshot() != self.before

    def changes(self):
        """What a peer did to the plant: [] if nothing."""
        found = []
        after = self._snapshot()
        if after != self.before:
            found.append(f'lstat/contents changed: {self.before} -> {after}')
        if self.kind == 'regular_file' and 'ino' in after:
            with open(self.path, 'rb') as f:
                if f.read() != CONTENT:
                    found.append('the regular file\'s bytes changed')
        if self._writer is not None and not self._writer.is_alive():
            found.append('the FIFO was opened (a blocked writer was released)')
        if self._listener is not None:
            try:
                conn, _ = self._listener.accept()
                conn.close()
                found.append('the symlink was followed: its target socket '
                             'got a connection')
            except BlockingIOError:
                pass
        if self.kind == 'dangling_symlink' and os.path.lexists(
                os.path.join(self.aside, 'nothing-here')):
            found.append('the dangling symlink was followed: its target '
                         'was created')
        return found

    def close(self):
        """Release the FIFO writer, stop the listener, remove what is left."""
        if self._writer is not None:
            if self._writer.is_alive():
                fd = os.open(os.path.join(self.aside, 'fifo'),
                             os.O_RDONLY | os.O_NONBLOCK)
                self._writer.join(5)
                os.close(fd)
            for fd in self._writer_fd:
                os.close(fd)
        if self._listener is not None:
            self._listener.close()
        _remove(self.path)
        _remove(self.aside)


def _remove(path):
    """Remove whatever is at *path* now (ours: the test planted it)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        for entry in os.listdir(path):
            _remove(os.path.join(path, entry))
        os.rmdir(path)
    else:
        os.unlink(path)


def _wait_blocked_in_fifo_open(thread, tid, bound=5.0):
    """Until *thread* sleeps in the FIFO's open() (its wchan says so), so a
    reader's open() is sure to release it.  Where /proc hides wchan, go on
    after a short grace: the peer is a process start away anyway."""
    start = time.monotonic()
    while thread.is_alive() and time.monotonic() - start < bound:
        try:
            with open(f'/proc/self/task/{tid[0]}/wchan') as f:
                wchan = f.read()
        except (IndexError, OSError):
            wchan = None
        if wchan == 'wait_for_partner':
            return
        if wchan in ('', '0') and time.monotonic() - start > 0.2:
            return                          # /proc cannot tell
        time.sleep(0.005)
    if not thread.is_alive():
        raise AssertionError('the FIFO writer was released before any peer ran')
    raise AssertionError('the FIFO writer never blocked in open()')
