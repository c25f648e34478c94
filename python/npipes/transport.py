"""Picks the platform's pipe implementation.

Both modules provide the same small interface:

- ``pipe_address(name)`` -> the socket path / ``\\\\.\\pipe\\`` path;
- ``connect(name, deadline, allow_other_users)`` -> Stream (client; waits
  for a server, which must be the current user unless allowed);
- ``rendezvous(name, deadline, allow_other_users)`` -> Stream (client if
  someone serves the name, else a one-connection server);
- ``Server.create(name, allow_other_users, backlog)`` with
  ``accept(deadline)`` -> Stream, ``close()`` and ``on_refused`` (called
  with the uid of each peer dropped as another user; Unix only);
- ``Stream`` with ``recv_into(view, deadline)``, ``send(frame, deadline)``,
  ``finish(deadline)`` (wait for the peer to close; returns how many bytes
  it sent meanwhile) and ``close()``.

Every OSError leaving them is a typed npipes error (``_util.typed_os_errors``).
``PipeStream`` is that Stream interface, for type checkers.
"""

from __future__ import annotations

import sys
from typing import Protocol

from ._util import Deadline

if sys.platform == 'win32':
    from . import _windows as _impl
    PLATFORM = 'windows'
else:
    from . import _unix as _impl
    PLATFORM = 'unix'

pipe_address = _impl.pipe_address
connect = _impl.connect
rendezvous = _impl.rendezvous
Server = _impl.Server
Stream = _impl.Stream



class PipeStream(Protocol):
    """One connected pipe end, as both platforms' ``Stream`` provide it."""

    def recv_into(self, view: memoryview, deadline: Deadline) -> int: ...

    def send(self, frame: bytes, deadline: Deadline) -> None: ...

    def finish(self, deadline: Deadline) -> int: ...

    def close(self) -> None: ...


__all__ = ['PLATFORM', 'pipe_address', 'connect', 'rendezvous', 'Server',
           'Stream', 'PipeStream']
