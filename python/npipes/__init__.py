"""npipes: npipes 1.0.1's wire format and API, standard library only.

Compatible imports: ``from npipes.ipc import IPC``,
``from npipes.message import Message``.  Additions:
:class:`~npipes.connection.Connection` (many frames each way),
:class:`~npipes.listener.Listener` (many clients) and typed errors in
:mod:`npipes.errors`.
"""

import logging as _logging

from .access import (ADMINISTRATORS, LOCAL_SERVICE, LOCAL_SYSTEM,
                     NETWORK_SERVICE, ROOT, PeerIdentity)
from .connection import Connection, connect
from .errors import (ConnectionClosedError, CrcMismatchError, DecodeError,
                     SharedMemoryError,
                     EncodeError, EncodingError, FrameError,
                     FrameTooLargeError, IncompleteFrameError, NPipesError,
                     PipeAccessError, PipeNameError, PipeNameInUseError,
                     PipeOSError, PipePathOccupiedError, PipeTimeoutError)
from .ipc import IPC
from .listener import Listener
from .message import Message
from .sharedmemory import OutgoingMessage, ReceivedBuffer, SharedMemory
from .transport import pipe_address

__version__ = '0.2.0'

# A library logs, the application decides where it goes: nothing is printed
# unless the application configures logging.
_logging.getLogger('npipes').addHandler(_logging.NullHandler())

__all__ = ['IPC', 'Message', 'Connection', 'connect', 'Listener',
           'pipe_address', 'NPipesError', 'PipeTimeoutError',
           'PipeNameError', 'PipeNameInUseError', 'PipePathOccupiedError',
           'PipeAccessError', 'PipeOSError', 'FrameError',
           'FrameTooLargeError', 'IncompleteFrameError',
           'ConnectionClosedError', 'CrcMismatchError', 'EncodingError',
           'DecodeError', 'EncodeError', 'PeerIdentity', 'ROOT',
           'LOCAL_SYSTEM', 'LOCAL_SERVICE', 'NETWORK_SERVICE',
           'ADMINISTRATORS', 'SharedMemory', 'SharedMemoryError',
           'ReceivedBuffer', 'OutgoingMessage']
