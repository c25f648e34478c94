"""npipes 1.0.1's ``IPC``: one text message per pipe connection."""

from __future__ import annotations

from typing import Optional, Tuple, Union

from . import _hints, sharedmemory, transport
from ._util import Deadline, backoff, check_name
from .access import Entries, Policy, client_policy, server_rule
from .connection import Connection
from .consts import (DEFAULT_ENCODING, DEFAULT_ENDIAN, DEFAULT_MAX_PAYLOAD,
                     IPC_FIFO_NAME)
from .errors import ConnectionClosedError, PipeTimeoutError
from .message import Message, crc32, struct_prefix, to_payload, to_text
from .sharedmemory import SharedMemory

__all__ = ['IPC', 'IpcOptions']


class IpcOptions:
    """The options of npipes' IPC, checked, and its ``raise_errors`` rule
    (the blocking :class:`IPC` and :class:`npipes.aio.IPC` share them)."""

    def __init__(self, pipe_name: str = IPC_FIFO_NAME,
                 encoding: str = DEFAULT_ENCODING,
                 endian: str = DEFAULT_ENDIAN,
                 timeout: Optional[float] = None, raise_errors: bool = True,
                 max_payload: Optional[int] = DEFAULT_MAX_PAYLOAD,
                 allow_other_users: bool = False, *,
                 allow_users: Optional[Entries] = None,
                 allow_groups: Optional[Entries] = None,
                 allow_everyone: bool = False,
                 server_users: Optional[Entries] = None,
                 server_groups: Optional[Entries] = None,
                 shared_memory: Union[SharedMemory, bool, None] = None
                 ) -> None:
        if raise_errors:          # a bad name is refused now, as by .NET's Ipc
            check_name(pipe_name)
        struct_prefix(endian)
        self.pipe = pipe_name
        self.encoding = encoding
        self.endian = endian
        self.timeout = timeout
        self.raise_errors = raise_errors
        self.max_payload = max_payload
        self.allow_other_users = allow_other_users
        #: Whom this side admits as a client, and trusts as a server.
        self.access = Policy(
            server_rule(allow_other_users, allow_users, allow_groups,
                        allow_everyone),
            client_policy(allow_other_users, server_users,
                          server_groups).trust)
        self.last_error: Optional[Exception] = None
        #: docs/shared-memory.md (None: off); both sides must opt in.
        self.shared_memory = sharedmemory.shared_memory(shared_memory)

    def _failed(self, exc: Exception) -> None:
        """Raise *exc*, or keep it in ``last_error`` (raise_errors=False)."""
        if self.raise_errors:
            raise exc
        self.last_error = exc


class IPC(IpcOptions):
    """Send or receive one message per connection on pipe *pipe_name*.

    Either side may start first (or both at once): whoever finds nobody
    serving the name becomes the server for one connection.  The sender
    writes its frame and waits for the receiver to close; the receiver
    reads one frame and closes.  ``timeout`` bounds each whole call
    (meeting the peer and moving the frame).

    The peer must be the current user, whichever side serves: a server of
    another user is refused (PipeAccessError) before a byte is written or
    read, and never retried; a client of another user is dropped.
    ``allow_other_users=True`` lifts both checks (and makes a socket file
    this side creates mode 0666).  Precisely (docs/access.md): a serving
    side admits ``allow_users``, ``allow_groups`` or ``allow_everyone``; a
    connecting side trusts servers of ``server_users`` or
    ``server_groups``.

    Differences from npipes 1.0.1 (see README): errors raise typed
    exceptions unless ``raise_errors=False``, which gives npipes' return
    values (False / '') without printing anything (the exception is kept in
    ``last_error``; a bad pipe name then fails each call, else it raises
    PipeNameError here); the CRC is computed over the encoded payload bytes.
    ``shared_memory`` (both sides; Linux and Windows) sends a large
    message through shared memory (docs/shared-memory.md).
    """

    #: Like npipes: the frame bytes after a send, the text after a receive.
    __msg: Union[str, bytes] = ''

    @property
    def message(self) -> Union[str, bytes]:
        """Like npipes: the frame bytes after a send, the text after a receive."""
        return self.__msg

    def _meet(self, deadline: Deadline,
              receiver: bool = False) -> transport.PipeStream:
        stream: transport.PipeStream = transport.rendezvous(
            self.pipe, deadline, self.access, receiver)
        return stream

    def _connection(self, stream: transport.PipeStream,
                    crc: bool) -> Connection:
        """A Connection over *stream* with this IPC's options (the stream
        is closed if that fails)."""
        try:
            return Connection(stream, crc=crc, endian=self.endian,
                              encoding=self.encoding,
                              max_payload=self.max_payload,
                              shared_memory=self.shared_memory)
        except BaseException:
            stream.close()
            raise

    def _send(self, data: str, crc: bool) -> bool:
        payload = to_payload(data, self.encoding)
        frame = Message(data, crc32(payload) if crc else 0, self.encoding,
                        self.endian, self.max_payload).encapsulate_msg()
        self.__msg = frame
        deadline = Deadline(self.timeout)
        untaken = 0     # peers that took the connection but not the frame
        try:
            for _ in backoff(deadline, f'send on pipe {self.pipe!r}'):
                stream = self._meet(deadline)
                try:
                    if self.shared_memory is None:
                        stream.send(frame, deadline)
                    else:
                        self._connection(stream, crc).send(
                            payload, deadline.remaining('send'))
                    if stream.finish(deadline) == 0:
                        return True
                    # The peer wrote to us, so it is not a receiver (most
                    # likely another sender): our frame was not taken.
                except ConnectionClosedError:
                    pass    # dropped unread: a closing server's backlog, or
                    # a receiver that refused the frame.  Meet again.
                finally:
                    stream.close()
                untaken += 1
        except PipeTimeoutError as exc:
            if not untaken:
                raise
            # The likely cause, as .NET's Ipc (docs/wire-format.md section 6).
            raise PipeTimeoutError(f'{exc}; {_hints.closed_unread(untaken)}') \
                from exc
        raise AssertionError('unreachable: backoff() never ends')

    def receive_payload(self, crc: bool = False) -> Tuple[bytes, int]:
        """Receive one frame; return ``(payload bytes, CRC field)``.  Errors
        always raise (``raise_errors`` is npipes' API's, for the two
        methods below)."""
        deadline = Deadline(self.timeout)
        for _ in backoff(deadline, f'receive on pipe {self.pipe!r}'):
            with self._connection(self._meet(deadline, receiver=True),
                                  crc) as conn:
                try:
                    payload = conn.recv(deadline.remaining('receive'))
                except ConnectionClosedError:
                    continue        # peer left before sending anything
                last = conn.last_crc      # set by the frame just received
                crc_field = 0 if last is None else last
                return payload, crc_field
        raise AssertionError('unreachable: backoff() never ends')

    def send_message(self, data: str, crc: bool = False) -> bool:
        """Send *data* (str) as one frame; True on success."""
        try:
            return self._send(data, crc)
        except Exception as exc:
            self._failed(exc)
            return False

    def receive_message(self, crc: bool = False) -> str:
        """Receive one frame and return its text ('' on failure if
        ``raise_errors=False``)."""
        try:
            payload, _ = self.receive_payload(crc)
            text: str = to_text(payload, self.encoding)
        except Exception as exc:
            self.__msg = ''
            self._failed(exc)
            return ''
        self.__msg = text
        return text
