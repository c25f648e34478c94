"""The command line's commands (``npipes-py``); parsing, exit codes and
error lines are in ``__main__``.

Each command takes the parsed arguments and returns its exit code, or
raises: an npipes error becomes one line on stderr (with ``hint``) and its
exit code.  Output is what the .NET CLI ``npipes`` prints, line for line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from .connection import Connection
from .errors import (ConnectionClosedError, CrcMismatchError, DecodeError,
                     EncodingError, PipeTimeoutError)
from .ipc import IPC
from .listener import Listener, echo_handler
from .message import decode_frame, encode_frame, to_payload, to_text

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_TIMEOUT, EXIT_DATA = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130      # Ctrl-C: 128 + SIGINT, as a shell reports it
EXIT_TERMINATED = 143       # SIGTERM: 128 + SIGTERM

#: The --encoding values the .NET CLI accepts, and Python's codec for each.
ENCODINGS: Dict[str, str] = {'ascii': 'ascii', 'utf-8': 'utf-8',
                             'utf8': 'utf-8', 'latin-1': 'latin-1',
                             'latin1': 'latin-1'}


class UsageError(Exception):
    """An argument found unusable when the command runs (exit code 2)."""


def _read_text(text: str, encoding: str) -> str:
    """TEXT, or all of standard input byte for byte when TEXT is '-',
    decoded strictly (bytes invalid in the encoding are an error)."""
    if text != '-':
        return text
    decoded: str = to_text(sys.stdin.buffer.read(), encoding)
    return decoded


def _print(line: str) -> None:
    try:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``| head``).  Point stdout at devnull so
        # that the interpreter's last flush does not print a second error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise OSError('standard output was closed before all was '
                      'written') from None


@contextmanager
def _naming(args: argparse.Namespace) -> Iterator[None]:
    """A timeout's message says which command on which pipe it ended."""
    try:
        yield
    except PipeTimeoutError as exc:
        raise PipeTimeoutError(f'{args.command} on pipe {args.name!r}: '
                               f'{exc}') from exc


def _ipc(args: argparse.Namespace) -> IPC:
    return IPC(args.name, encoding=args.encoding, endian=args.byte_order,
               timeout=args.timeout)


def send(args: argparse.Namespace) -> int:
    """``send NAME TEXT``: one message, as npipes' send_message."""
    text = _read_text(args.text, args.encoding)
    with _naming(args):
        _ipc(args).send_message(text, crc=args.crc)
    return EXIT_OK


def receive(args: argparse.Namespace) -> int:
    """``receive NAME``: print --count messages, one per line (or as JSON
    objects: text, bytes, crc), from as many connections as it takes."""
    ipc = _ipc(args)
    for _ in range(args.count):
        with _naming(args):
            payload, crc = ipc._receive(args.crc)
        text: str = to_text(payload, args.encoding)
        _print(json.dumps({'text': text, 'bytes': len(payload),
                           'crc': f'{crc:08x}'},
                          ensure_ascii=False, separators=(',', ':'))
               if args.json else text)
    return EXIT_OK


def echo(args: argparse.Namespace) -> int:
    """``echo NAME``: answer every frame with its payload, any number of
    clients at once, until Ctrl-C or SIGTERM (exit code 0)."""
    def closed(conn: Optional[Connection], exc: BaseException) -> None:
        message = f'{exc}{hint(exc, args)}'.replace('\n', ' ')
        print(f'npipes echo: connection closed: {message}', file=sys.stderr,
              flush=True)

    listener = Listener(args.name, crc=args.crc, endian=args.byte_order,
                        encoding=args.encoding,
                        max_connections=args.max_connections,
                        idle_timeout=args.idle_timeout,
                        frame_timeout=args.frame_timeout, on_error=closed)
    try:
        # close() takes no locks, so it is safe in a signal handler; the
        # accept() it interrupts then sees the listener closed.
        signal.signal(signal.SIGTERM, lambda *_: listener.close())
        # The same line as the .NET CLI: it is listening from now on.
        _print(f"npipes echo: serving '{args.name}' at {listener.address}")
        listener.serve_forever(echo_handler)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
    return EXIT_OK


def request(args: argparse.Namespace) -> int:
    """``request NAME TEXT``: connect to a server, send TEXT, print the
    reply; --timeout bounds the connect and, again, the reply."""
    payload = to_payload(_read_text(args.text, args.encoding), args.encoding)
    with _naming(args), Connection.connect(
            args.name, args.timeout, crc=args.crc, endian=args.byte_order,
            encoding=args.encoding) as conn:
        reply = conn.request(payload, timeout=args.timeout)
    text: str = to_text(reply, args.encoding)
    _print(text)
    return EXIT_OK


def frame_encode(args: argparse.Namespace) -> int:
    """``frame encode TEXT``: print the frame as lowercase hex."""
    payload = to_payload(_read_text(args.text, args.encoding), args.encoding)
    frame: bytes = encode_frame(payload, crc=args.crc, endian=args.byte_order)
    _print(frame.hex())
    return EXIT_OK


def frame_decode(args: argparse.Namespace) -> int:
    """``frame decode HEX``: print the text of one whole frame."""
    digits = args.hex.replace(' ', '')
    if not re.fullmatch(r'(?:[0-9A-Fa-f]{2})*', digits):
        raise UsageError('HEX is not an even number of hexadecimal digits '
                         '(spaces allowed)')
    payload, _ = decode_frame(bytes.fromhex(digits), crc=args.crc,
                              endian=args.byte_order)
    text: str = to_text(payload, args.encoding)
    _print(text)
    return EXIT_OK


def hint(exc: BaseException, args: Any) -> str:
    """What usually causes *exc* when the two sides disagree, as a clause
    to append to its message ('' when there is nothing to add)."""
    encoding = getattr(args, 'encoding', None)
    if isinstance(exc, EncodingError):
        if encoding == 'utf-8':
            return ('; the peer may use another encoding (--encoding '
                    'latin-1?)' if isinstance(exc, DecodeError) else '')
        other = 'utf-8' if encoding == 'latin-1' else 'utf-8 or latin-1'
        return (f'; try --encoding {other} (the peer must use the same)')
    if isinstance(exc, CrcMismatchError):
        if exc.received == 0:
            return ('; the frame carries no CRC (field 0): use --crc on both '
                    'sides, or on neither')
        return '; the payload was changed, or its CRC computed another way'
    if isinstance(exc, ConnectionClosedError) and \
            getattr(args, 'command', None) == 'request':
        return ('; a server closes a client whose frame it rejects: do '
                '--crc and --byte-order match the server\'s?')
    return ''
