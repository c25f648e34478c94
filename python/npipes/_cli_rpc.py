"""``python -m npipes rpc serve|call|describe|stubs``: the same commands as
the .NET CLI's ``npipes rpc``, with the same demo target.

serve NAME: echo(text), add(a, b), sleep(ms) (cancellable), fail(code,
message), whoami() (the caller) until SIGTERM/Ctrl-C; each failed connection is one line on
stderr.  call NAME METHOD [ARG...]: each ARG is one JSON value; prints the
result as JSON.  describe NAME: prints the server's OpenRPC document
(rpc.discover).  stubs (NAME | FILE.json) --lang python|csharp [--out FILE]:
typed stubs made from it (_cli_rpcstubs.py).  Exit codes as the rest of the
CLI: 0 ok, 2 usage, 3 timeout, 4 remote error (one line on stderr with its
code) or a document stubs cannot be made from, 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from types import FrameType
from typing import Any, Dict, List, NoReturn, Optional, Tuple, TypedDict

from ._cli_access import (add_client_flags, add_server_flags,
                          client_access, server_access)
from ._cli_commands import parse_seconds, seconds
from ._cli_rpcstubs import add_stubs_parser, run_stubs
from ._cli_rpcstubs import stderr_line as _line
from ._cli_wait import waiting_notice
from ._contract.service import DISCOVER_METHOD
from ._jsonrpc import (JsonValue, RemoteError, RequestCancelledError,
                       no_constant)
from ._quote import line
from ._serverlog import ServerLog
from ._rpctargets import Function
from .connection import Connection
from .errors import PipeTimeoutError
from .access import PeerIdentity
from .rpc import CancelToken, RpcClient, RpcServer

EXIT_OK, EXIT_USAGE, EXIT_TIMEOUT, EXIT_REMOTE = 0, 2, 3, 4


# -- the demo target (the .NET CLI serves the same four methods) ----------
def echo(text: str) -> str:
    """Return *text* unchanged."""
    return text


def add(a: float, b: float) -> float:
    """Return a + b."""
    return a + b


def sleep(ms: int, cancel: CancelToken) -> int:
    """Wait *ms* milliseconds and return it; $/cancelRequest ends it with
    error -32800."""
    if ms < 0:
        raise ValueError(f'ms must be >= 0, got {ms}')
    if cancel.wait(ms / 1000):
        raise RequestCancelledError()
    return ms


def fail(code: int, message: str) -> None:
    """Fail with a JSON-RPC error carrying *code* and *message*."""
    raise RemoteError(code, message)


class WhoAmI(TypedDict):
    """The answer of ``whoami`` (the .NET demo target's too)."""

    pid: int
    uid: Optional[int]
    user: Optional[str]
    sid: Optional[str]


def whoami(caller: PeerIdentity) -> WhoAmI:
    """Who is calling (docs/access.md §5): ``{"pid", "uid", "user",
    "sid"}``."""
    return WhoAmI(pid=caller.pid, uid=caller.uid, user=caller.user,
                  sid=caller.sid)


DEMO: Dict[str, Function] = {'echo': echo, 'add': add, 'sleep': sleep,
                             'fail': fail, 'whoami': whoami}


# -- the command line ------------------------------------------------------
def add_parser(
        sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``rpc`` (with ``serve`` and ``call``) on the subparsers
    *sub* of the npipes command line."""
    p = sub.add_parser('rpc', help='JSON-RPC 2.0 over npipes frames, one '
                       'message per frame (as the .NET CLI\'s npipes rpc)')
    rpc_sub = p.add_subparsers(dest='rpc_command', required=True,
                               parser_class=type(p))
    s = rpc_sub.add_parser('serve', help='serve the demo target (echo, add, '
                           'sleep, fail, whoami) until SIGTERM/Ctrl-C')
    _common(s)
    add_server_flags(s)
    c = rpc_sub.add_parser('call', help='call METHOD and print the result '
                           'as JSON; a remote error exits 4, a timeout 3')
    _common(c)
    add_client_flags(c)
    c.add_argument('method', metavar='METHOD')
    c.add_argument('args', metavar='ARG', nargs='*', type=_json_arg,
                   help='one JSON value each (a string is "quoted")')
    timeout(c)
    d = rpc_sub.add_parser('describe', help="print the OpenRPC document "
                           "(JSON) the server answers to rpc.discover; a "
                           'remote error exits 4, a timeout 3')
    _client_flags(d)
    add_stubs_parser(rpc_sub, lambda g: _client_flags(g, name=False))


def _client_flags(p: argparse.ArgumentParser, name: bool = True) -> None:
    _common(p, name)
    add_client_flags(p)
    timeout(p)


def timeout(p: argparse.ArgumentParser) -> None:
    """The ``--timeout`` of a command that calls a server."""
    p.add_argument('--timeout', type=parse_seconds, default=None,
                   help='seconds for connecting and the reply together '
                   '(default: forever)')


def _common(p: argparse.ArgumentParser, name: bool = True) -> None:
    if name:
        p.add_argument('name', help='pipe name')
    p.add_argument('--crc', action='store_true',
                   help='send / check a CRC-32 of every frame')
    p.add_argument('--byte-order', choices=('big', 'little'), default='big',
                   help='default: big (what npipes 1.0.1 writes)')


def _json_arg(text: str) -> JsonValue:
    try:
        value: JsonValue = json.loads(text, parse_constant=no_constant)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f'each ARG must be one JSON value (a string is written '
            f'"quoted"); not JSON: {text} ({exc})') from None
    return value


def run(args: argparse.Namespace) -> int:
    crc: bool = args.crc
    endian: str = args.byte_order
    if args.rpc_command == 'serve':
        return _serve(args.name, crc, endian, server_access(args))
    if args.rpc_command == 'stubs':
        return run_stubs(args, lambda a: request(a, DISCOVER_METHOD, []))
    if args.rpc_command == 'describe':
        code, result = request(args, DISCOVER_METHOD, [])
        if code == EXIT_OK:      # as .NET's: two-space indent, one newline
            print(json.dumps(result, ensure_ascii=False, indent=2),
                  flush=True)
        return code
    code, result = request(args, args.method, args.args)
    if code == EXIT_OK:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return code


def _serve(name: str, crc: bool, endian: str,
           access: Dict[str, Any]) -> int:
    errors = ServerLog('npipes rpc')       # never blocks serving

    def report(conn: Optional[Connection], exc: BaseException) -> None:
        errors.write(f'connection closed: {type(exc).__name__}: {exc}')

    def stop(signum: int, frame: Optional[FrameType]) -> None:
        server.close()

    server = RpcServer(name, DEMO, on_error=report, crc=crc, endian=endian,
                       **access)
    # close() takes no locks: safe in a signal handler.
    signal.signal(signal.SIGTERM, stop)
    print(line(f'npipes rpc: serving {name!r} at {server.address}'),
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        errors.close()
    return EXIT_OK


def request(args: argparse.Namespace, method: str, params: List[JsonValue]
            ) -> Tuple[int, JsonValue]:
    """(exit code, result) of calling *method* on pipe ``args.name`` (a
    remote error or a timeout is one line on stderr).  One budget for
    connecting and for the reply, as the .NET CLI."""
    start = time.monotonic()
    timeout: Optional[float] = args.timeout
    try:
        with waiting_notice(args.name):
            client = RpcClient.connect(args.name, timeout, crc=args.crc,
                                       endian=args.byte_order,
                                       **client_access(args))
    except PipeTimeoutError as exc:
        _line(f'timed out: {exc}')
        return EXIT_TIMEOUT, None
    left = None if timeout is None else \
        max(0.0, timeout - (time.monotonic() - start))
    try:
        return EXIT_OK, client.call(method, *params, timeout=left)
    except RemoteError as exc:
        _line(f'error {exc.code}: {exc.message}')
        return EXIT_REMOTE, None
    except PipeTimeoutError:
        _line(f'timed out: no reply to {method!r} within '
              f'{seconds(args.timeout)} s (the call was cancelled)')
        return EXIT_TIMEOUT, None
    finally:
        # The timeout bounds the close too: what is queued (the cancel) gets
        # what is left of it (at least 0.1 s, as the .NET CLI; at most the
        # usual 5 s).
        client.close(5.0 if timeout is None else min(5.0, max(
            0.1, timeout - (time.monotonic() - start))))
