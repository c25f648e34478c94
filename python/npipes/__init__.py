"""npipes: npipes 1.0.1's wire format and API, standard library only.

Compatible imports: ``from npipes.ipc import IPC``,
``from npipes.message import Message``.  Additions:
:class:`~npipes.connection.Connection` (many frames each way),
:class:`~npipes.listener.Listener` (many clients) and typed errors in
:mod:`npipes.errors`.
"""

from .connection import Connection, connect
from .errors import (ConnectionClosedError, CrcMismatchError, DecodeError,
                     EncodeError, EncodingError, FrameError,
                     FrameTooLargeError, IncompleteFrameError, NPipesError,
                     PipeNameError, PipeNameInUseError, PipeTimeoutError)
from .ipc import IPC
from .listener import Listener
from .message import Message
from .transport import pipe_address

__version__ = '1.0.1.post1'

__all__ = ['IPC', 'Message', 'Connection', 'connect', 'Listener',
           'pipe_address', 'NPipesError', 'PipeTimeoutError',
           'PipeNameError', 'PipeNameInUseError', 'FrameError',
           'FrameTooLargeError', 'IncompleteFrameError',
           'ConnectionClosedError', 'CrcMismatchError', 'EncodingError',
           'DecodeError', 'EncodeError']
