"""Typed errors raised by npipes (by default; see ``IPC(raise_errors=False)``).

The tree follows NPipes' .NET exceptions: a CRC mismatch and text that is
not valid in the configured encoding are frame errors in both
(``CrcMismatchException``, ``InvalidTextException : FrameException``).  Every ``OSError`` that would leave the package is turned into one of
these (``PipeOSError`` when no more precise type fits).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple


class NPipesError(Exception):
    """Base class of every error npipes raises itself."""


class PipeTimeoutError(NPipesError, TimeoutError):
    """A connect, accept, send or receive did not finish within its timeout."""


class PipeNameError(NPipesError, ValueError):
    """The pipe name is not usable (see the name rules in docs/unix-endpoint.md)."""


class PipeNameInUseError(NPipesError):
    """Another live server (or another user's socket file) holds this pipe name."""


class PipePathOccupiedError(NPipesError):
    """The pipe's path holds something that is not a socket.

    A symbolic link, FIFO, directory, regular file or device at the path is
    never opened, followed, deleted or chmod-ed; ``path`` and ``kind`` say
    where and what it is.
    """

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f'{path} is a {kind}, not a pipe socket; npipes '
                         f'leaves it alone (remove it yourself if it is not '
                         f'needed)')
        self.path = path
        self.kind = kind

    def __reduce__(self) -> Tuple[Any, Tuple[str, str]]:   # picklable
        return type(self), (self.path, self.kind)


class PipeAccessError(NPipesError, PermissionError):
    """The peer is not the current user (or its user cannot be read), or
    the OS refused access to the pipe.

    A client never retries after this error: nothing was written to, or
    read from, that peer.  ``path`` is the pipe's path and ``uid`` the
    peer's user id (None if unknown).
    """

    def __init__(self, message: str, path: Optional[str] = None,
                 uid: Optional[int] = None) -> None:
        super().__init__(message)
        self.path = path
        self.uid = uid


class PipeOSError(NPipesError, OSError):
    """Any other operating-system error on the pipe (``errno``,
    ``strerror`` and ``filename`` as in OSError)."""


class FrameError(NPipesError):
    """The bytes on the pipe are not a valid frame (bad or inconsistent lengths)."""


class FrameTooLargeError(FrameError):
    """A frame announces (or would need) a payload above the configured maximum."""


class SharedMemoryError(FrameError):
    """A large message through shared memory (docs/shared-memory.md) was
    refused: a descriptor frame or its file failed a check (the message
    names it; the connection is closed), or shared memory was asked for
    where it is not available (the message names the platform)."""


class IncompleteFrameError(FrameError):
    """The peer closed the pipe in the middle of a frame."""


class CrcMismatchError(FrameError):
    """CRC checking is on and the frame's CRC-32 does not match its payload.

    Unlike other frame errors the stream is still in step: the next frame
    can be received.
    """

    def __init__(self, received: int, computed: int) -> None:
        super().__init__(f'CRC-32 mismatch: frame says 0x{received:08x}, '
                         f'payload has 0x{computed:08x}')
        self.received = received
        self.computed = computed

    def __reduce__(self) -> Tuple[Any, Tuple[int, int]]:   # picklable
        return type(self), (self.received, self.computed)


class ConnectionClosedError(NPipesError, EOFError):
    """The connection ended between frames (or before the first).

    ``reason`` says why: ``'peer closed'`` (a clean end of stream, or a
    reset), or, for a Listener's connections, ``'idle timeout'`` /
    ``'frame timeout'`` when the server closed it.
    """

    def __init__(self, message: str = 'peer closed the pipe',
                 reason: str = 'peer closed') -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> Tuple[Any, Tuple[str, str]]:
        return type(self), (str(self), self.reason)


class EncodingError(FrameError, ValueError):
    """Text cannot be converted with the configured encoding (a frame error,
    as .NET's ``InvalidTextException``; also a ValueError)."""


class DecodeError(EncodingError):
    """A received payload is not valid text in the configured encoding."""


class EncodeError(EncodingError):
    """Text to send cannot be represented in the configured encoding."""
