"""``python -m npipes rpc stubs (NAME | FILE.json) --lang python|csharp
[--out FILE]``: typed stubs from an OpenRPC document, read from a file or
fetched from a running server's ``rpc.discover``; the options and exit codes
of the .NET CLI's ``npipes rpc stubs`` (0 ok, 2 a file that is not JSON,
3 timeout, 4 a remote error or a document stubs cannot be made from, 1 a
file that cannot be read)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Mapping, Tuple

from ._contract.csharp import csharp_stubs
from ._contract.errors import ContractError
from ._contract.openrpc import check_document
from ._contract.python import python_stubs
from ._jsonrpc import JsonValue, no_constant
from ._quote import line as one_line

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 4
#: _cli_rpc's ``rpc.discover`` call: args -> (exit code, document); passed
#: in, so that this module does not import _cli_rpc back.
Fetch = Callable[[Any], Tuple[int, JsonValue]]


def add_stubs_parser(
        rpc_sub: argparse._SubParsersAction[argparse.ArgumentParser],
        client_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``rpc stubs`` on *rpc_sub*; *client_flags* adds the options
    of a command that calls a server (--crc, --timeout, ...)."""
    g = rpc_sub.add_parser('stubs', help="generate typed stubs from a "
                           "server's OpenRPC document (rpc.discover) or a "
                           'saved one; a document the generator cannot map '
                           'exits 4')
    g.add_argument('name', metavar='NAME|FILE.json',
                   help='a .json file (as rpc describe prints it) or the '
                   'pipe name of a server to ask with rpc.discover')
    client_flags(g)
    g.add_argument('--lang', choices=('python', 'csharp'), default='python',
                   help='python (Protocols for client.proxy and '
                   'dataclasses; default) or csharp (an interface and '
                   'records for Attach<T>())')
    g.add_argument('--out', metavar='FILE', default=None,
                   help='write the stubs to FILE (default: standard output)')


def run_stubs(args: Any, fetch: Fetch) -> int:
    """The ``stubs`` command; its exit code."""
    source: str = args.name
    if os.path.isfile(source) or source.lower().endswith('.json'):
        try:
            with open(source, 'rb') as f:
                doc: JsonValue = json.loads(f.read(),
                                            parse_constant=no_constant)
        except OSError as exc:
            stderr_line(f'stubs: cannot read {source}: {exc}')
            return EXIT_OTHER
        except ValueError as exc:
            stderr_line(f'stubs: {source} is not JSON: {exc}')
            return EXIT_USAGE
        where = os.path.basename(source)
    else:
        code, doc = fetch(args)
        if code != EXIT_OK:
            return code
        where = f"rpc.discover on pipe '{source}'"
    problems = check_document(doc)
    if problems or not isinstance(doc, Mapping):
        stderr_line(f'stubs: cannot generate from {source}: not an OpenRPC '
             f'document: {"; ".join(problems[:3])}')
        return EXIT_DATA
    try:
        text = python_stubs(doc, source=where) if args.lang == 'python' \
            else csharp_stubs(doc, source=where)
    except ContractError as exc:
        stderr_line(f'stubs: cannot generate from {source}: {exc}')
        return EXIT_DATA
    if args.out is not None:
        with open(args.out, 'w', encoding='utf-8', newline='\n') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK


def stderr_line(text: str) -> None:
    """One line on stderr, ``npipes rpc: ``-prefixed, control characters
    escaped (docs/reliability.md: one line per message)."""
    print(one_line(f'npipes rpc: {text}'), file=sys.stderr, flush=True)
