"""JSON-RPC 2.0 messages, no I/O: what both engines (rpc.py with threads,
aio with asyncio) share, so that they agree byte for byte.

One npipes frame carries exactly one JSON-RPC message as UTF-8 JSON, as
NPipes.JsonRpc's StreamJsonRpc handler does: requests
``{"jsonrpc":"2.0","id":N,"method":M,"params":[...] or {...}}``,
notifications without ``id``, cancellation the notification
``$/cancelRequest`` with ``{"id": N}``, and StreamJsonRpc's error codes.
"""

from __future__ import annotations

import json
from typing import (Dict, List, Literal, Mapping, NamedTuple, NoReturn,
                    Optional, Sequence, Tuple, Type, Union)

from . import _hints as hints
from ._session import CLOSED_HERE, PEER_CLOSED
from .errors import ConnectionClosedError, FrameError, NPipesError

__all__ = ['RemoteError', 'RequestCancelledError', 'PARSE_ERROR',
           'INVALID_REQUEST', 'METHOD_NOT_FOUND', 'INVALID_PARAMS',
           'INTERNAL_ERROR', 'INVOCATION_ERROR', 'REQUEST_CANCELLED',
           'CANCEL_METHOD', 'JsonValue', 'JsonInput', 'Id']

#: A JSON value as received (what json.loads returns).
JsonValue = Union[None, bool, int, float, str, List['JsonValue'],
                  Dict[str, 'JsonValue']]
#: A JSON value to send: sequences (lists, tuples) are written as arrays and
#: mappings with str keys as objects (json.dumps takes dicts, lists and
#: tuples; anything else is a TypeError at the call).
JsonInput = Union[None, bool, int, float, str, Sequence['JsonInput'],
                  Mapping[str, 'JsonInput']]
#: A request id: an int within +-2**53 or a str (npipes sends ints), as
#: StreamJsonRpc takes; any other id is an invalid message.
Id = Union[int, str]
#: ``params`` as received: an array or an object.
Params = Union[List[JsonValue], Dict[str, JsonValue]]
#: ``params`` to send: positional or named.
OutParams = Union[Sequence[JsonInput], Mapping[str, JsonInput]]
#: A response object as received (it has ``result`` or ``error``).
Body = Dict[str, JsonValue]
#: A request (it has an ``id`` member) or a notification.
CallKind = Literal['request', 'notification']

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
#: The target raised an exception (StreamJsonRpc's InvocationError).
INVOCATION_ERROR = -32000
#: The request was cancelled ($/cancelRequest) before it finished.
REQUEST_CANCELLED = -32800
CANCEL_METHOD = '$/cancelRequest'

# StreamJsonRpc's texts, so that both languages say the same thing.
CANCELLED_TEXT = 'The task was cancelled.'


class RemoteError(NPipesError):
    """The peer answered a call with a JSON-RPC error.

    ``code`` is the JSON-RPC error code (see the constants in
    :mod:`npipes.rpc`), ``message`` its text and ``data`` whatever the
    peer attached (for an exception in a .NET or Python target, an object
    with at least ``type`` and ``message``).  A server function may raise
    it to answer with a code of its choice.
    """

    def __init__(self, code: int, message: str,
                 data: JsonInput = None) -> None:
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f'a JSON-RPC error code is an int, got {code!r}')
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return f'{self.message} (JSON-RPC error {self.code})'

    @property
    def type(self) -> Optional[str]:
        """The remote exception's type name, if the peer sent one."""
        data = self.data
        name = data.get('type') if isinstance(data, dict) else None
        return name if isinstance(name, str) else None

    def __reduce__(self) -> Tuple[Type[RemoteError],
                                  Tuple[int, str, JsonInput]]:
        return type(self), (self.code, self.message, self.data)


class RequestCancelledError(RemoteError):
    """The peer answered -32800: the request was cancelled before it ended.

    A server function raises it (``cancel.raise_if_cancelled()``) to say it
    stopped because its call was cancelled."""

    def __init__(self, code: int = REQUEST_CANCELLED,
                 message: str = CANCELLED_TEXT,
                 data: JsonInput = None) -> None:
        super().__init__(code, message, data)


class ProtocolError(Exception):
    """A call the target cannot take (no such method, params that do not
    fit): answered with ``code``; the connection stays."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidMessageError(NPipesError):
    """A message that is not valid JSON-RPC (not UTF-8 JSON, not one
    object, a bad ``id`` or ``params``, a response to no request): the
    receiver closes the connection without replying (docs/rpc.md §6)."""


def no_constant(name: str) -> NoReturn:
    """json.loads' parse_constant: NaN and Infinity are not JSON."""
    raise ValueError(f'{name} is not JSON')


# Made once: json.dumps/json.loads with options build a new one per call.
# json.loads' str checks are not needed: the text is decoded UTF-8 (a
# byte order mark left in it is not JSON to the decoder either).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False,
                            separators=(',', ':'))
_DECODER = json.JSONDecoder(parse_constant=no_constant)


def encode(message: Mapping[str, object]) -> bytes:
    """One message as compact UTF-8 JSON (no byte order mark, no NaN).

    TypeError/ValueError if a value cannot be written as JSON."""
    text = _ENCODER.encode(message)
    try:
        return text.encode('utf-8')
    except UnicodeEncodeError as exc:
        raise ValueError(f'text that is not valid Unicode (a lone '
                         f'surrogate) cannot be sent: {exc}') from None


def request(id: Optional[Id], method: str, params: OutParams) -> bytes:
    msg: Dict[str, object] = {'jsonrpc': '2.0', 'method': method,
                              'params': params}
    if id is not None:
        msg['id'] = id
    return encode(msg)


def params_of(method: str, args: Tuple[JsonInput, ...],
              named: Mapping[str, JsonInput]) -> OutParams:
    """The ``params`` of a call: positional (list) or named (object)."""
    if not isinstance(method, str) or not method:
        raise TypeError(f'method must be a non-empty str, got {method!r}')
    if args and named:
        raise TypeError('JSON-RPC params are positional or named, not both')
    return dict(named) if named else list(args)


def result_reply(id: Optional[Id], result: object) -> bytes:
    return encode({'jsonrpc': '2.0', 'id': id, 'result': result})


def error_reply(id: Optional[Id], code: int, message: str,
                data: object = None) -> bytes:
    error: Dict[str, object] = {'code': code, 'message': message}
    if data is not None:
        error['data'] = data
    return encode({'jsonrpc': '2.0', 'id': id, 'error': error})


def type_name(exc: BaseException) -> str:
    t = type(exc)
    return t.__qualname__ if t.__module__ == 'builtins' \
        else f'{t.__module__}.{t.__qualname__}'


def exception_reply(id: Optional[Id], exc: BaseException) -> bytes:
    """The error answer for a target that raised *exc*: its own code for a
    RemoteError, -32800 for a cancellation, else -32000 with data
    ``{"type", "message"}`` (StreamJsonRpc's CommonErrorData fields)."""
    if isinstance(exc, RemoteError):
        try:
            return error_reply(id, exc.code, exc.message, exc.data)
        except (TypeError, ValueError):
            return error_reply(id, exc.code, exc.message)
    if is_cancellation(exc):
        return error_reply(id, REQUEST_CANCELLED, CANCELLED_TEXT)
    message = str(exc) or type_name(exc)
    return error_reply(id, INVOCATION_ERROR, message,
                       {'type': type_name(exc), 'message': message})


def is_cancellation(exc: BaseException) -> bool:
    """A target ended because it was cancelled (concurrent.futures' and
    asyncio's CancelledError both count, as OperationCanceledException in
    .NET)."""
    import asyncio
    import concurrent.futures
    return isinstance(exc, (RequestCancelledError, asyncio.CancelledError,
                            concurrent.futures.CancelledError))


def reply_for_result(id: Optional[Id], method: str, result: object,
                     max_payload: Optional[int]) -> bytes:
    """The answer carrying *result*, or a -32603 error when it cannot be
    written as JSON or does not fit in one frame."""
    try:
        data = result_reply(id, result)
    except (TypeError, ValueError, RecursionError) as exc:
        return error_reply(id, INTERNAL_ERROR, f'the result of {method!r} '
                           f'cannot be sent as JSON: {exc}')
    if max_payload is not None and len(data) > max_payload:
        return error_reply(id, INTERNAL_ERROR, f'the result of {method!r} '
                           f'is {len(data)} bytes as JSON, more than the '
                           f'{max_payload}-byte frame limit')
    return data


class Call(NamedTuple):
    """A parsed request or notification: ``kind`` is 'request' when the
    message has an ``id`` member (which may be null), else 'notification'."""

    kind: CallKind
    id: Optional[Id]
    method: str
    params: Optional[Params]
    size: int = 0     # its frame's payload length (docs/rpc.md §9)


class Response(NamedTuple):
    """A parsed response: *body* is the whole message (``result`` or
    ``error``; see :func:`outcome`)."""

    id: Optional[Id]
    body: Body


#: What :func:`parse` returns.
Incoming = Union[Call, Response]


_MAX_ID = 2 ** 53


def as_id(value: object) -> Optional[Id]:
    """*value* as an id: an int within +-2**53 or a str; else None."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(
            value, bool) and -_MAX_ID <= value <= _MAX_ID):
        return value
    return None


def _invalid(text: str) -> InvalidMessageError:
    return InvalidMessageError(f'invalid JSON-RPC message: {text}')


def parse(payload: Union[bytes, bytearray, memoryview]) -> Incoming:
    """Parse one frame's payload; InvalidMessageError if it is not one
    JSON-RPC 2.0 message (batches are not supported, as in StreamJsonRpc).
    Nesting too deep for the parser is an InvalidMessageError too."""
    try:
        msg: JsonValue = _DECODER.decode(bytes(payload).decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _invalid(f'not UTF-8 JSON ({exc})') from None
    if not isinstance(msg, dict):
        raise _invalid('a batch (array)' if isinstance(msg, list)
                       else 'not an object')
    raw_id = msg.get('id')
    id = as_id(raw_id)
    if raw_id is not None and id is None:
        raise _invalid(f'id {raw_id!r} is not an int within +-2**53 or a '
                       f'string')
    if msg.get('jsonrpc') != '2.0':
        raise _invalid('no "jsonrpc": "2.0"')
    if 'method' in msg:
        method, params = msg['method'], msg.get('params')
        if not isinstance(method, str):
            raise _invalid('method is not a string')
        if params is not None and not isinstance(params, (list, dict)):
            raise _invalid('params is not an array or an object')
        return Call('request' if 'id' in msg else 'notification', id, method,
                    params, len(payload))
    if 'result' in msg or isinstance(msg.get('error'), dict):
        return Response(id, msg)
    raise _invalid('neither a request nor a response')


def outcome(body: Body) -> Tuple[JsonValue, Optional[RemoteError]]:
    """``(result, None)`` for a result, ``(None, RemoteError)`` for an error.
    (An ``error`` member that is not an object leaves the result.)"""
    error = body.get('error')
    if not isinstance(error, dict):
        return body.get('result'), None
    code = error.get('code')
    if isinstance(code, bool) or not isinstance(code, int):
        code = INTERNAL_ERROR
    message = error.get('message')
    text = message if isinstance(message, str) else str(message)
    cls = RequestCancelledError if code == REQUEST_CANCELLED else RemoteError
    return None, cls(code, text, error.get('data'))


def summary(body: Body) -> str:
    """'result', or 'error <code>': a response in a log line."""
    error = body.get('error')
    return f'error {error.get("code")}' if isinstance(error, dict) \
        else 'result'


def cancel_target(params: Optional[Params]) -> Optional[Id]:
    """The id named by a ``$/cancelRequest``'s params (named or positional);
    None if there is none (or it is not an id)."""
    if isinstance(params, dict):
        return as_id(params.get('id'))
    if isinstance(params, list) and len(params) == 1:
        return as_id(params[0])
    return None


def _reason(cause: BaseException) -> Optional[str]:
    return cause.reason if isinstance(cause, ConnectionClosedError) else None


def lost_error(cause: BaseException, method: str) -> ConnectionClosedError:
    """The ConnectionClosedError a pending call gets when *cause* ended the
    connection."""
    reason = _reason(cause) or (
        'frame error' if isinstance(cause, FrameError) else 'error')
    if reason == CLOSED_HERE:
        text = f'the connection was closed before {method!r} was answered'
    elif reason == PEER_CLOSED:
        text = hints.lost_before_answer(method, cause)
    else:
        text = f'connection lost before {method!r} was answered: {cause}'
    err = ConnectionClosedError(text, reason=reason)
    err.__cause__ = cause
    return err


def closed_error(cause: Optional[BaseException]) -> ConnectionClosedError:
    """The error a call or send gets on an RPC connection that *cause*
    ended (both engines say the same)."""
    reason = (_reason(cause) if cause is not None else None) or 'error'
    text = 'the RPC connection is closed' if reason == CLOSED_HERE \
        else f'the RPC connection was lost: {cause}'
    err = ConnectionClosedError(text, reason=reason)
    err.__cause__ = cause
    return err
