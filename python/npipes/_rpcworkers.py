"""The threads that run one threaded RPC connection's functions: at most
*max_workers*, started when a job finds none idle.  Leaner per job than
concurrent.futures.ThreadPoolExecutor (no Future, work item or semaphore
per call: the job's outcome goes back through the connection anyway)."""

from __future__ import annotations

import queue
import threading
from typing import Callable, Generic, Optional, Tuple, TypeVar

__all__ = ['Workers']

_J = TypeVar('_J')


class Workers(Generic[_J]):
    """Runs ``run(job)`` for each submitted job; *run* handles its own
    errors (what escapes it is a bug and ends that thread's loop only
    after the job)."""

    def __init__(self, run: Callable[[_J], object], max_workers: int,
                 name: str) -> None:
        self._run, self._max, self._name = run, max_workers, name
        self._jobs: 'queue.SimpleQueue[Optional[Tuple[_J]]]' = \
            queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = self._idle = 0
        self._closed = False

    def submit(self, job: _J) -> None:
        """Queue *job*; RuntimeError after :meth:`shutdown`."""
        with self._lock:
            if self._closed:
                raise RuntimeError('the RPC workers are shut down')
            self._jobs.put((job,))
            if self._idle:
                self._idle -= 1            # an idle thread takes it
                return
            if self._threads >= self._max:
                return                     # queued for the next free one
            self._threads += 1
        # Daemon threads: a client left open does not hold up the exit.
        threading.Thread(target=self._loop, daemon=True,
                         name=f'{self._name}-{self._threads}').start()

    def _loop(self) -> None:
        jobs, run = self._jobs, self._run
        while True:
            item = jobs.get()
            if item is None:
                return
            run(item[0])
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        """Let every thread end once the queue is done; refuse new jobs."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            count = self._threads
        for _ in range(count):
            self._jobs.put(None)
