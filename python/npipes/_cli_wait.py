"""A CLI wait that may last forever says so once.

When connecting has not finished after AFTER seconds and standard error is
a terminal, one line ``npipes: waiting for a server on 'NAME'...`` (word
for word as the .NET CLI's, src/NPipes.Cli/WaitNotice.cs).  Scripts
(stderr redirected) see nothing.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Iterator

__all__ = ['AFTER', 'waiting_notice']

#: Seconds a wait goes unremarked.
AFTER = 1.5


@contextlib.contextmanager
def waiting_notice(pipe: str, what: str = 'a server') -> Iterator[None]:
    """Within the block, say once on a terminal's stderr that we wait for
    *what* on *pipe*, if the block takes AFTER seconds or more."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        yield
        return
    timer = threading.Timer(AFTER, _say, (f"npipes: waiting for {what} on "
                                          f"'{pipe}'...",))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
