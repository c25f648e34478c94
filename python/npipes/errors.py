"""Typed errors raised by npipes (by default; see ``IPC(raise_errors=False)``)."""


class NPipesError(Exception):
    """Base class of every error npipes raises itself."""


class PipeTimeoutError(NPipesError, TimeoutError):
    """A connect, accept, send or receive did not finish within its timeout."""


class PipeNameError(NPipesError, ValueError):
    """The pipe name is not usable (empty, '/', '\\\\', NUL, or path too long)."""


class PipeNameInUseError(NPipesError):
    """Another live server already serves this pipe name."""


class FrameError(NPipesError):
    """The bytes on the pipe are not a valid frame (bad or inconsistent lengths)."""


class FrameTooLargeError(FrameError):
    """A frame announces (or would need) a payload above the configured maximum."""


class IncompleteFrameError(FrameError):
    """The peer closed the pipe in the middle of a frame."""


class ConnectionClosedError(NPipesError, EOFError):
    """The peer closed the pipe cleanly, between frames (or before the first)."""


class CrcMismatchError(NPipesError):
    """CRC checking is on and the frame's CRC-32 does not match its payload."""

    def __init__(self, received, computed):
        super().__init__(f'CRC-32 mismatch: frame says 0x{received:08x}, '
                         f'payload has 0x{computed:08x}')
        self.received = received
        self.computed = computed

    def __reduce__(self):               # picklable across processes
        return type(self), (self.received, self.computed)


class EncodingError(NPipesError, ValueError):
    """Text cannot be converted with the configured encoding."""


class DecodeError(EncodingError):
    """A received payload is not valid text in the configured encoding."""


class EncodeError(EncodingError):
    """Text to send cannot be represented in the configured encoding."""
