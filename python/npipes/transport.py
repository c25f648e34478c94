"""The endpoint contract, and the platform's endpoint modules behind it.

Both platform modules (_unix.py, _windows.py) provide:

- ``pipe_address(name)`` -> the socket path / ``\\\\.\\pipe\\`` path;
- ``connect(name, deadline, access)`` -> Stream (client; waits for a
  server, which *access*' ``trust`` rule must admit: docs/access.md §4);
- ``rendezvous(name, deadline, access)`` -> Stream (client if someone
  serves the name, else a one-connection server);
- ``Server.create(name, access, backlog)`` with ``accept(deadline)`` ->
  Stream, ``close()`` and ``on_refused`` (called with the PeerIdentity of
  each client the ``allow`` rule refuses);
- ``Stream``: :class:`PipeStream` below.

*access* is an ``access.Policy`` (a bool: 0.2.0's allow_other_users).

and :func:`aio_endpoint` the same endpoints for asyncio.  Every OSError
leaving them is a typed npipes error (``_util.typed_os_errors``).  This is
the one module that picks modules by platform (_platform.py holds the
facts); everything else asks a Stream's ``capabilities()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Protocol

from . import _platform
from ._util import Buffer, Capabilities, Deadline
from .access import PeerIdentity

if TYPE_CHECKING:
    # The type checker cannot evaluate _platform.WINDOWS; it is told the same choice in the one form it understands, so
    # a plain `mypy` (a user's, without the lane's flags) checks each platform's endpoint on that platform only.
    import sys

    from ._aio_channel import Channel
    from ._aio_platform import Acceptor
    if sys.platform == 'win32':
        from . import _windows as _impl
    else:
        from . import _unix as _impl
elif _platform.WINDOWS:
    from . import _windows as _impl
else:
    from . import _unix as _impl
PLATFORM = 'windows' if _platform.WINDOWS else 'unix'

pipe_address = _impl.pipe_address
connect = _impl.connect
rendezvous = _impl.rendezvous
Server = _impl.Server
Stream = _impl.Stream


class PipeStream(Protocol):
    """One connected pipe end, as both platforms' ``Stream`` provide it."""

    #: Who is at the other end (docs/access.md §5), read once.
    peer: PeerIdentity

    def recv_into(self, view: memoryview, deadline: Deadline) -> int:
        """Read into *view*; the count, 0 at EOF (a reset raises
        ConnectionClosedError)."""

    def send(self, frame: Buffer, deadline: Deadline) -> None:
        """Write one whole frame."""

    def finish(self, deadline: Deadline) -> int:
        """Done writing: wait for the peer to close; the bytes it sent
        meanwhile."""

    def close(self) -> None:
        """Close this end."""

    def capabilities(self) -> Capabilities:
        """What this stream can do beyond the four calls above."""


class AioEndpoint(Protocol):
    """The platform's endpoints under asyncio (_aio_unix, _aio_windows)."""

    def open_stream(self, stream: Stream, address: str
                    ) -> Awaitable[Channel]:
        """Hand a connected *stream* to the running loop."""

    def acceptor(self, server: Server) -> Acceptor[Stream]:
        """The accept side of *server* for the running loop."""


def aio_endpoint() -> AioEndpoint:
    """The platform's asyncio endpoint module (imported on first use, so
    that the blocking API never imports asyncio)."""
    if TYPE_CHECKING:
        if sys.platform == 'win32':
            from . import _aio_windows as aio
        else:
            from . import _aio_unix as aio
    elif _platform.WINDOWS:
        from . import _aio_windows as aio
    else:
        from . import _aio_unix as aio
    return aio


__all__ = ['PLATFORM', 'pipe_address', 'connect', 'rendezvous', 'Server',
           'Stream', 'PipeStream', 'aio_endpoint']
