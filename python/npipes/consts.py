"""Constants shared by every part of npipes.

The ``IPC_FIFO_NAME*`` names are the ones npipes 1.0.1 defines in its own
``npipes/consts.py``; the rest are NPipes additions.
"""

# --- npipes 1.0.1 names --------------------------------------------------
IPC_FIFO_NAME = 'IPC_PIPE_DEFAULT'
IPC_FIFO_NAME1 = 'IPC_PIPE_CUSTOM1'
IPC_FIFO_NAME2 = 'IPC_PIPE_CUSTOM2'
IPC_FIFO_NAME3 = 'IPC_PIPE_CUSTOM3'
IPC_FIFO_NAME4 = 'IPC_PIPE_CUSTOM4'
IPC_FIFO_NAME5 = 'IPC_PIPE_CUSTOM5'

# --- NPipes ----------------------------------------------------------------
PIPE_NAME = DEFAULT_PIPE_NAME = IPC_FIFO_NAME

#: Windows pipe buffer sizes (in and out), as npipes uses; also the largest
#: frame npipes 1.0.1 itself can read (one ReadFile of this size).
BUFFER_SIZE = 65536

DEFAULT_ENCODING = 'ascii'
#: What npipes 1.0.1 actually writes (its docs claim little endian).
DEFAULT_ENDIAN = 'big'
#: Accepted ``endian`` values (case-insensitive) and their struct prefix.
ENDIANS = {'big': '>', 'little': '<', 'native': '=', 'network': '!'}

HEADER_SIZE = 8      # MessageLength u32 + DataLength u32
TRAILER_SIZE = 4     # CRC-32 u32, always present
FRAME_OVERHEAD = HEADER_SIZE + TRAILER_SIZE
MAX_U32 = 0xFFFFFFFF
#: Largest payload accepted unless configured otherwise (checked from the
#: header before any buffer is allocated).
DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024

# --- platform naming (same as .NET's System.IO.Pipes) ----------------------
UNIX_SOCKET_PREFIX = 'CoreFxPipe_'
WINDOWS_PIPE_PREFIX = '\\\\.\\pipe\\'
#: Longest AF_UNIX socket path in bytes: sun_path is 108 bytes on Linux
#: (104 on macOS/BSD), one of which is the terminating NUL.
MAX_SOCKET_PATH_LINUX = 107
MAX_SOCKET_PATH_BSD = 103
#: Permission bits of a socket file: current user only, or everyone when
#: ``allow_other_users=True``.
SOCKET_MODE_PRIVATE = 0o600
SOCKET_MODE_SHARED = 0o666
#: .NET rejects this pipe name (it is reserved for anonymous pipes).
RESERVED_PIPE_NAME = 'anonymous'
