"""The log events of the 'npipes' logger: the same names, ids and levels as
the .NET library's [LoggerMessage] events (src/NPipes/Diagnostics/NPipesLog.cs).

Every record carries ``npipes_event`` (the name) and ``npipes_event_id`` in
its ``extra``, so a handler can filter on them.  The logger has a
NullHandler: nothing is printed unless the application configures logging.
"""

from __future__ import annotations

import logging
from typing import Optional

from .errors import (CrcMismatchError, EncodingError, FrameError,
                     FrameTooLargeError, IncompleteFrameError)

log = logging.getLogger('npipes')   # its NullHandler is added in __init__

# name: (event id, level) -- as in NPipesLog.cs
EVENTS = {
    'ServerListening': (1, logging.INFO),
    'ServerStopped': (2, logging.INFO),
    'ConnectionAccepted': (3, logging.DEBUG),
    'ConnectionRefused': (4, logging.WARNING),
    'ConnectionClosed': (5, logging.DEBUG),
    'FrameError': (6, logging.WARNING),
    'HandlerFailed': (7, logging.ERROR),
    'AcceptFailed': (8, logging.WARNING),
    'WaitingForServer': (12, logging.DEBUG),
}


def event(name: str, message: str, *args: object,
          exc_info: Optional[BaseException] = None) -> None:
    """Log event *name* with its id and level."""
    event_id, level = EVENTS[name]
    if log.isEnabledFor(level):
        log.log(level, message, *args, exc_info=exc_info,
                extra={'npipes_event': name, 'npipes_event_id': event_id})


def error_type(exc: BaseException) -> str:
    """The ``error.type`` name .NET's metrics and logs use for a frame error."""
    if isinstance(exc, CrcMismatchError):
        return 'crc_mismatch'
    if isinstance(exc, FrameTooLargeError):
        return 'frame_too_large'
    if isinstance(exc, IncompleteFrameError):
        return 'incomplete'
    if isinstance(exc, EncodingError):
        return 'invalid_text'
    return 'length_mismatch' if isinstance(exc, FrameError) else type(exc).__name__
