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
from typing import Any, Dict, Mapping, Optional, Tuple

from .errors import ConnectionClosedError, FrameError, NPipesError

__all__ = ['RemoteError', 'RequestCancelledError', 'PARSE_ERROR',
           'INVALID_REQUEST', 'METHOD_NOT_FOUND', 'INVALID_PARAMS',
           'INTERNAL_ERROR', 'INVOCATION_ERROR', 'REQUEST_CANCELLED',
           'CANCEL_METHOD']

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

    def __init__(self, code: int, message: str, data: Any = None):
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f'a JSON-RPC error code is an int, got {code!r}')
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self):
        return f'{self.message} (JSON-RPC error {self.code})'

    @property
    def type(self) -> Optional[str]:
        """The remote exception's type name, if the peer sent one."""
        data = self.data
        return data.get('type') if isinstance(data, dict) else None

    def __reduce__(self):
        return type(self), (self.code, self.message, self.data)


class RequestCancelledError(RemoteError):
    """The peer answered -32800: the request was cancelled before it ended.

    A server function raises it (``cancel.raise_if_cancelled()``) to say it
    stopped because its call was cancelled."""

    def __init__(self, code: int = REQUEST_CANCELLED,
                 message: str = CANCELLED_TEXT, data: Any = None):
        super().__init__(code, message, data)


class ProtocolError(Exception):
    """An incoming message that is not valid JSON-RPC: answered with
    ``code`` when it has an ``id`` (or with id null for parse errors)."""

    def __init__(self, code, message, id=None, answer=True):
        super().__init__(message)
        self.code = code
        self.id = id
        self.answer = answer


def _no_constant(name):
    raise ValueError(f'{name} is not JSON')


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as compact UTF-8 JSON (no byte order mark, no NaN).

    TypeError/ValueError if a value cannot be written as JSON."""
    text = json.dumps(message, ensure_ascii=False, allow_nan=False,
                      separators=(',', ':'))
    try:
        return text.encode('utf-8')
    except UnicodeEncodeError as exc:
        raise ValueError(f'text that is not valid Unicode (a lone '
                         f'surrogate) cannot be sent: {exc}') from None


def request(id: Any, method: str, params: Any) -> bytes:
    msg = {'jsonrpc': '2.0', 'method': method, 'params': params}
    if id is not None:
        msg['id'] = id
    return encode(msg)


def params_of(method: str, args: Tuple[Any, ...],
              named: Dict[str, Any]) -> Any:
    """The ``params`` of a call: positional (list) or named (object)."""
    if not isinstance(method, str) or not method:
        raise TypeError(f'method must be a non-empty str, got {method!r}')
    if args and named:
        raise TypeError('JSON-RPC params are positional or named, not both')
    return dict(named) if named else list(args)


def result_reply(id: Any, result: Any) -> bytes:
    return encode({'jsonrpc': '2.0', 'id': id, 'result': result})


def error_reply(id: Any, code: int, message: str, data: Any = None) -> bytes:
    error = {'code': code, 'message': message}
    if data is not None:
        error['data'] = data
    return encode({'jsonrpc': '2.0', 'id': id, 'error': error})


def type_name(exc: BaseException) -> str:
    t = type(exc)
    return t.__qualname__ if t.__module__ == 'builtins' \
        else f'{t.__module__}.{t.__qualname__}'


def exception_reply(id: Any, exc: BaseException) -> bytes:
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


def reply_for_result(id: Any, method: str, result: Any,
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


class Incoming:
    """One parsed message: ``kind`` is 'request' (has an id), 'notification'
    or 'response'."""

    __slots__ = ('kind', 'id', 'method', 'params', 'body')

    def __init__(self, kind, id=None, method=None, params=None, body=None):
        self.kind = kind
        self.id = id
        self.method = method
        self.params = params
        self.body = body


def _valid_id(value):
    return value is None or (isinstance(value, (str, int, float))
                             and not isinstance(value, bool))


def parse(payload: bytes) -> Incoming:
    """Parse one frame's payload; ProtocolError if it is not one JSON-RPC
    2.0 message (batches are not supported, as in StreamJsonRpc)."""
    try:
        msg = json.loads(bytes(payload).decode('utf-8'),
                         parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(PARSE_ERROR, f'not UTF-8 JSON: {exc}') from None
    if not isinstance(msg, dict):
        what = 'a batch (array)' if isinstance(msg, list) else 'not an object'
        raise ProtocolError(INVALID_REQUEST, f'a message must be one JSON '
                            f'object; got {what}')
    id = msg.get('id')
    if not _valid_id(id):
        raise ProtocolError(INVALID_REQUEST, f'invalid id {id!r}')
    if msg.get('jsonrpc') != '2.0':
        raise ProtocolError(INVALID_REQUEST, 'missing "jsonrpc": "2.0"', id,
                            answer='method' in msg and 'id' in msg)
    if 'method' in msg:
        method, params = msg['method'], msg.get('params')
        if not isinstance(method, str):
            raise ProtocolError(INVALID_REQUEST, 'method must be a string',
                                id, answer='id' in msg)
        if params is not None and not isinstance(params, (list, dict)):
            raise ProtocolError(INVALID_REQUEST, 'params must be an array or '
                                'an object', id, answer='id' in msg)
        kind = 'request' if 'id' in msg else 'notification'
        return Incoming(kind, id, method, params)
    if 'result' in msg or isinstance(msg.get('error'), dict):
        return Incoming('response', id, body=msg)
    raise ProtocolError(INVALID_REQUEST, 'neither a request nor a response',
                        id, answer=False)


def outcome(body: Mapping[str, Any]) -> Tuple[Any, Optional[RemoteError]]:
    """``(result, None)`` for a result, ``(None, RemoteError)`` for an error."""
    error = body.get('error')
    if error is None:
        return body.get('result'), None
    code = error.get('code')
    if isinstance(code, bool) or not isinstance(code, int):
        code = INTERNAL_ERROR
    message = error.get('message')
    message = message if isinstance(message, str) else str(message)
    cls = RequestCancelledError if code == REQUEST_CANCELLED else RemoteError
    return None, cls(code, message, error.get('data'))


def summary(body: Mapping[str, Any]) -> str:
    """'result', or 'error <code>': a response in a log line."""
    error = body.get('error')
    return 'result' if error is None else f'error {error.get("code")}'


def cancel_target(params: Any) -> Any:
    """The id named by a ``$/cancelRequest``'s params (named or positional)."""
    if isinstance(params, dict):
        return params.get('id')
    if isinstance(params, list) and len(params) == 1:
        return params[0]
    return None


def lost_error(cause, method):
    """The ConnectionClosedError a pending call gets when *cause* ended the
    connection."""
    reason = getattr(cause, 'reason', None) or (
        'frame error' if isinstance(cause, FrameError) else 'error')
    if reason == 'closed':
        text = f'the connection was closed before {method!r} was answered'
    else:
        text = f'connection lost before {method!r} was answered: {cause}'
    err = ConnectionClosedError(text, reason=reason)
    err.__cause__ = cause
    return err
