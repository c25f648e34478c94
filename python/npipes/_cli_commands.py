"""The command line's commands (``npipes-py``); parsing, exit codes and
error lines are in ``__main__``.

Each command takes the parsed arguments and returns its exit code, or
raises: an npipes error becomes one line on stderr (``describe``) and its
exit code.  Output, error lines and exit codes are the .NET CLI ``npipes``'s
(src/NPipes.Cli, ErrorText.cs and ExitCodes.cs), word for word.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import time
from typing import Any, Dict, Optional

from . import _hints as hints
from ._cli_wait import waiting_notice
from ._limits import MAX_SECONDS
from ._cli_access import client_access, server_access
from ._quote import line as one_line
from ._serverlog import ServerLog
from .connection import Connection
from .errors import (CrcMismatchError, DecodeError, EncodingError,
                     FrameError, FrameTooLargeError, IncompleteFrameError,
                     PipeTimeoutError)
from .ipc import IPC
from .listener import Listener, echo_handler
from .message import decode_frame, encode_frame, to_payload, to_text

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_TIMEOUT, EXIT_DATA = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130      # Ctrl-C: 128 + SIGINT, as a shell reports it
EXIT_TERMINATED = 143       # SIGTERM: 128 + SIGTERM (15)

#: The --encoding values the .NET CLI accepts, and Python's codec for each.
ENCODINGS: Dict[str, str] = {'ascii': 'ascii', 'utf-8': 'utf-8',
                             'utf8': 'utf-8', 'latin-1': 'latin-1',
                             'latin1': 'latin-1'}


class UsageError(Exception):
    """An argument found unusable when the command runs (exit code 2)."""


class StdinDecodeError(DecodeError):
    """Standard input (TEXT '-') is not valid in the encoding (exit 4)."""


def _read_text(text: str, encoding: str) -> str:
    """TEXT, or all of standard input byte for byte when TEXT is '-',
    decoded strictly (bytes invalid in the encoding are an error)."""
    if text != '-':
        return text
    try:
        decoded: str = to_text(sys.stdin.buffer.read(), encoding)
    except DecodeError as exc:
        raise StdinDecodeError(str(exc)) from exc
    return decoded


def parse_seconds(text: str) -> float:
    """A timeout option's value: 0 to 1e11 seconds (as the .NET CLI), else
    a usage error with the .NET CLI's words."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f'must be a number of seconds >= 0, not {text!r}')
    if value > MAX_SECONDS:       # as the .NET CLI: honoured up to 1e11
        raise argparse.ArgumentTypeError(
            f'must be at most 1e11 seconds, not {text!r}')
    return value


def seconds(value: Optional[float]) -> str:
    """Seconds as both CLIs print them: up to 3 decimals, no trailing
    zeros ('0.2', '5'); 'none' for no limit."""
    if value is None:
        return 'none'
    return ('%.3f' % value).rstrip('0').rstrip('.')


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


def _ipc(args: argparse.Namespace, **access: Any) -> IPC:
    return IPC(args.name, encoding=args.encoding, endian=args.byte_order,
               timeout=args.timeout, shared_memory=args.shared_memory,
               **access)


def send(args: argparse.Namespace) -> int:
    """``send NAME TEXT``: one message, as npipes' send_message."""
    text = _read_text(args.text, args.encoding)
    with waiting_notice(args.name, 'a receiver'):
        _ipc(args, **client_access(args)).send_message(text, crc=args.crc)
    return EXIT_OK


def receive(args: argparse.Namespace) -> int:
    """``receive NAME``: print --count messages, one per line (or as JSON
    objects: text, bytes, crc), from as many connections as it takes."""
    ipc = _ipc(args, **server_access(args))
    for _ in range(args.count):
        payload, crc = ipc.receive_payload(args.crc)
        text: str = to_text(payload, args.encoding)
        _print(json.dumps({'text': text, 'bytes': len(payload),
                           'crc': f'{crc:08x}'},
                          ensure_ascii=False, separators=(',', ':'))
               if args.json else text)
    return EXIT_OK


#: Seconds ``echo`` waits, once stopped, for the connections still ending.
STOP_GRACE = 1.0


def echo(args: argparse.Namespace) -> int:
    """``echo NAME``: answer every frame with its payload, any number of
    clients at once, until Ctrl-C or SIGTERM (exit code 0)."""
    errors = ServerLog('npipes echo')      # never blocks serving

    def closed(conn: Optional[Connection], exc: BaseException) -> None:
        errors.write(f'connection closed: {describe(exc, args)}')

    listener = Listener(args.name, crc=args.crc, endian=args.byte_order,
                        encoding=args.encoding,
                        max_connections=args.max_connections,
                        idle_timeout=args.idle_timeout,
                        frame_timeout=args.frame_timeout, on_error=closed,
                        shared_memory=args.shared_memory,
                        **server_access(args))
    try:
        # close() takes no locks, so it is safe in a signal handler; the
        # accept() it interrupts then sees the listener closed.
        signal.signal(signal.SIGTERM, lambda *_: listener.close())
        # The same line as the .NET CLI: it is listening from now on, with
        # these limits.
        _print(one_line(
            f"npipes echo: serving {args.name!r} at {listener.address} "
            f"(max connections {args.max_connections}, idle timeout "
            f"{_limit(args.idle_timeout)}, frame timeout "
            f"{_limit(args.frame_timeout)})"))
        serving = listener.serve_forever(echo_handler)
        # Stopped (SIGTERM): connections ending now still log why (a handler
        # closes its connection before it reports, so the client may have
        # seen the close already), within a bounded grace, as .NET's drain.
        end = time.monotonic() + STOP_GRACE
        for thread in serving:
            thread.join(max(0.0, end - time.monotonic()))
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        errors.close()
    return EXIT_OK


def request(args: argparse.Namespace) -> int:
    """``request NAME TEXT``: connect to a server, send TEXT, print the
    reply; --timeout bounds the connect and, again, the reply."""
    payload = to_payload(_read_text(args.text, args.encoding), args.encoding)
    with waiting_notice(args.name):
        conn = Connection.connect(
            args.name, args.timeout, crc=args.crc, endian=args.byte_order,
            encoding=args.encoding, shared_memory=args.shared_memory,
            **client_access(args))
    with conn:
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


def _limit(value: Optional[float]) -> str:
    return 'none' if value is None else f'{seconds(value)} s'


_DISPLAY = {'ascii': 'ASCII', 'utf-8': 'UTF-8', 'latin-1': 'Latin-1'}


def describe(exc: BaseException, args: Any) -> str:
    """*exc* as one line a person understands (without the 'npipes: '
    prefix), with a hint where the two sides likely disagree; the frame,
    text and timeout errors read as the .NET CLI's (ErrorText.cs)."""
    command = getattr(args, 'frame_command', None) or \
        getattr(args, 'command', None)
    encoding = getattr(args, 'encoding', None)
    display = _DISPLAY.get(str(encoding), 'ASCII')
    other = 'latin-1' if encoding == 'utf-8' else 'utf-8'
    same = hints.other_encoding(other)
    name, timeout = getattr(args, 'name', None), getattr(args, 'timeout', None)
    if isinstance(exc, PipeTimeoutError) and name is not None and \
            timeout is not None:
        return f"{command} on pipe {name!r}: timed out after " \
               f'{seconds(timeout)} s'
    if isinstance(exc, CrcMismatchError):
        return (f'CRC-32 mismatch: the frame carries 0x{exc.received:08x}, '
                f"the payload's is 0x{exc.computed:08x}" +
                ('; ' + hints.no_crc('--crc') if exc.received == 0 else
                 '; the payload was changed, or its CRC computed another '
                 'way'))
    text = str(exc)
    if isinstance(exc, FrameTooLargeError):
        m = re.search(r'payload of (\d+) bytes exceeds the maximum of (\d+)',
                      text)
        if m:
            peer = command in ('receive', 'decode')
            return (f'a payload of {m[1]} bytes exceeds the maximum of '
                    f'{m[2]} bytes' + ('; ' + hints.another_byte_order(
                        '--byte-order') if peer else ''))
    if isinstance(exc, IncompleteFrameError):
        return 'the peer closed the connection in the middle of a frame'
    if isinstance(exc, FrameError):
        m = re.search(r'MessageLength (\d+) != DataLength (\d+)', text)
        if m:
            if hints.is_shared_memory(int(m[1]), int(m[2])):
                return hints.SHARED_MEMORY_OPTION
            return (f'not an npipes frame: MessageLength {m[1]} is not '
                    f'DataLength {m[2]} + 8; ' +
                    hints.another_byte_order('--byte-order'))
        m = re.search(r'frame of (\d+) bytes, but its header announces '
                      r'(\d+)', text)
        if m and int(m[1]) < int(m[2]):
            return ('the frame is cut short: HEX holds fewer bytes than its '
                    'lengths say')
    if isinstance(exc, StdinDecodeError):
        return f'standard input is not {display} text: {same}'
    if isinstance(exc, DecodeError):
        return f'the message is not {display} text: {same}'
    if isinstance(exc, EncodingError):
        if encoding == 'utf-8':
            return 'the text cannot be encoded as UTF-8'
        return f'the text is not {display}: ' + hints.other_encoding('utf-8')
    return text.replace('\n', ' ').strip() or type(exc).__name__
