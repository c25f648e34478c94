"""The one module that reads ``sys.platform`` (when it is imported).

Every other module asks these facts, or better an endpoint's capabilities
(``Stream.capabilities()``), never the platform itself.  transport.py picks
the platform's endpoint modules from them (and, for the type checker only,
under ``if TYPE_CHECKING``, from ``sys.platform`` itself: mypy evaluates
nothing else).
"""

import sys

#: The platform's name, for messages (sys.platform: 'linux', 'win32'...).
NAME = sys.platform
#: Windows: named pipes (_windows.py); everywhere else Unix sockets.
WINDOWS = sys.platform == 'win32'
#: Linux: sun_path of 108 bytes, SO_PEERCRED, /proc/self/fd.
LINUX = sys.platform.startswith('linux')
#: macOS: SO_NOSIGPIPE; macOS and the BSDs: LOCAL_PEERCRED.
DARWIN = sys.platform == 'darwin'
BSD = DARWIN or 'bsd' in sys.platform
