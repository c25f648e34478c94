"""The lines a serving command (echo, rpc serve) writes to standard error
about its clients, as the .NET CLI's ServerLog: one writer thread takes them
from a bounded queue and writes each whole (one write per line, so lines
never run together), so logging never blocks serving.  When nobody drains
standard error the queue fills, later lines are dropped and counted, and
once writing resumes one line says how many were lost."""

from __future__ import annotations

import queue
import sys
import threading
import time
from typing import BinaryIO, Optional

from ._quote import line

__all__ = ['ServerLog', 'CAPACITY']

#: Lines queued at most (as .NET's ServerLog.Capacity).
CAPACITY = 1024


class ServerLog:
    """``write(text)`` queues ``PREFIX: TEXT`` (one line) and never blocks."""

    def __init__(self, prefix: str, stream: Optional[BinaryIO] = None) -> None:
        self._prefix = prefix
        self._stream = stream if stream is not None else sys.stderr.buffer
        self._lines: 'queue.Queue[Optional[str]]' = queue.Queue(CAPACITY)
        self._lock = threading.Lock()
        self.dropped = 0        # lines dropped so far (stderr not read)
        self._write_began: Optional[float] = None   # inside a write since
        self._writer = threading.Thread(target=self._drain, daemon=True,
                                        name='npipes stderr')
        self._writer.start()

    def write(self, text: str) -> None:
        """Queue one line; when the queue is full it is dropped and
        counted."""
        try:
            self._lines.put_nowait(line(f'{self._prefix}: {text}'))
        except queue.Full:
            with self._lock:
                self.dropped += 1

    def _drain(self) -> None:
        reported = 0
        try:
            while True:
                text = self._lines.get()
                if text is None:           # close()
                    return
                self._write_line(text)
                dropped = self.dropped
                if dropped > reported and self._lines.empty():
                    self._write_line(f'{self._prefix}: {dropped - reported} '
                                     f'log lines dropped (standard error '
                                     f'was not being read)')
                    reported = dropped
        except (OSError, ValueError):
            pass    # standard error is gone: serving goes on

    def close(self, timeout: float = 0.5) -> None:
        """Let the writer write what is queued.  Only a write that blocks
        (standard error not read) is given up on, after *timeout* seconds:
        then the lines left are lost.  A writer that is merely slow to be
        scheduled (a loaded machine) is waited for."""
        try:
            self._lines.put(None, timeout=timeout)
        except queue.Full:
            return
        while self._writer.is_alive():
            self._writer.join(0.05)
            began = self._write_began
            if began is not None and time.monotonic() - began > timeout:
                return

    def _write_line(self, text: str) -> None:
        self._write_began = time.monotonic()
        try:
            self._stream.write((text + '\n').encode('utf-8',
                                                    'backslashreplace'))
            self._stream.flush()
        finally:
            self._write_began = None
