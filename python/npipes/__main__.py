"""Command line: ``npipes-py`` (installed) or ``python -m npipes``.

The same commands, options, exit codes, output and error lines as the
.NET CLI ``npipes``: send, receive, echo, request, frame encode|decode.
Exit codes (the table is in src/NPipes.Cli/README.md): 0 ok, 1 anything
else, 2 usage (also a bad pipe name or HEX), 3 timeout, 4 data error (bad
frame, CRC mismatch, text invalid in the encoding), 130 interrupted
(Ctrl-C: 128 + SIGINT), 143 terminated (SIGTERM: 128 + 15; a pipe this
process serves is released first).  ``echo`` ends on Ctrl-C or SIGTERM
with 0: that is how it is stopped.  Every error is one line on stderr,
``npipes: `` and what went wrong, never a traceback.

The commands themselves are in ``_cli_commands``; a subcommand defined in
another module is registered by adding that module to EXTENSIONS.
"""

from __future__ import annotations

import argparse
import difflib
import io
import os
import signal
import sys
import threading
from types import FrameType
from typing import (Any, Callable, NoReturn, Optional, Protocol, Sequence,
                    Tuple)

from . import __version__, _cli_rpc
from ._cli_access import add_client_flags, add_server_flags
from ._cli_commands import (ENCODINGS, EXIT_DATA, EXIT_INTERRUPTED, EXIT_OTHER,
                            EXIT_TERMINATED, EXIT_TIMEOUT, EXIT_USAGE,
                            UsageError, describe, echo, frame_decode,
                            frame_encode, parse_seconds, receive, request,
                            send)
from ._quote import line
from ._limits import DEFAULT_MAX_CONNECTIONS
from .access import AccessEntryError
from .errors import FrameError, PipeNameError, PipeTimeoutError

__all__ = ['main', 'EXTENSIONS']


class Extension(Protocol):
    """A module that adds subcommands: ``add_parser(subparsers)`` adds them
    (as ``subparsers.add_parser(...)``) and ``run(args)`` runs one, returning
    its exit code."""

    def add_parser(self, sub: Any) -> Any: ...

    def run(self, args: argparse.Namespace) -> int: ...


#: Subcommands from other modules, listed after the built-in ones in --help.
EXTENSIONS: Tuple[Extension, ...] = (_cli_rpc,)


def _prog() -> str:
    """The command as the user typed it: ``npipes-py`` for the installed
    script, ``python -m npipes`` for the module."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ''
    if name.lower().endswith('.exe'):
        name = name[:-4]
    if name in ('', '-c', '__main__.py'):
        return 'python -m npipes'
    return name


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2) that point to --help,
    and "did you mean" for a mistyped command or choice: the .NET CLI's
    lines (ParseErrorText.cs), but for the command named in "see ..."."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"npipes: {message} (see '{self.prog} "
                              f"--help')\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        words = [str(c) for c in choices]
        close = difflib.get_close_matches(
            str(value).lower().replace('_', '-'), words, n=1)
        guess = f'; did you mean {close[0]!r}?' if close else ''
        if isinstance(action, argparse._SubParsersAction):
            known = guess or f'; the commands are {", ".join(words)}'
            raise argparse.ArgumentError(
                None, f'unknown command {value!r}{known}')
        raise argparse.ArgumentError(
            action, f'{value!r} is not one of {", ".join(words)}{guess}')


def _whole(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(
                f'must be a whole number >= {low}, not {text!r}')
        return value
    return parse


def _positive_seconds(text: str) -> float:
    value = parse_seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f'must be more than 0 seconds, '
                                         f'not {text!r}')
    return value


def _encoding(text: str) -> str:
    if text not in ENCODINGS:
        close = difflib.get_close_matches(text.lower().replace('_', '-'),
                                          sorted(set(ENCODINGS.values())),
                                          n=1)
        guess = f'; did you mean {close[0]!r}?' if close else ''
        raise argparse.ArgumentTypeError(
            f'{text!r} is not one of {", ".join(ENCODINGS)}{guess}')
    return ENCODINGS[text]


def _frame_options(p: argparse.ArgumentParser) -> None:
    p.add_argument('--crc', action='store_true',
                   help="carry and check the payload's CRC-32")
    p.add_argument('--byte-order', choices=('big', 'little'), default='big',
                   help="byte order of the frame's integers: big (npipes "
                   "1.0.1 as shipped; default) or little (npipes' "
                   "documented default)")
    p.add_argument('--encoding', type=_encoding, default='ascii',
                   metavar='{ascii,utf-8,latin-1}',
                   help='text encoding, strict (default: ascii)')


def _pipe_options(p: argparse.ArgumentParser) -> None:
    p.add_argument('name', metavar='NAME', help='the pipe name')
    _frame_options(p)


def _shared_memory_option(p: argparse.ArgumentParser) -> None:
    p.add_argument('--shared-memory', action='store_true',
                   help='send payloads of 64 KiB or more through shared '
                   'memory, and accept them (Linux and Windows; the peer '
                   'must use it too: docs/shared-memory.md)')


def _timeout_option(p: argparse.ArgumentParser) -> None:
    p.add_argument('--timeout', type=parse_seconds, default=None,
                   metavar='SECONDS', help='give up after this many seconds '
                   '(default: wait forever, as npipes does)')


def _text_argument(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument('text', metavar='TEXT', help=f"the {what}; '-' reads "
                   'standard input byte for byte')


def _parser() -> argparse.ArgumentParser:
    prog = _prog()
    p = _Parser(prog=prog, allow_abbrev=False, description='npipes 1.0.1-'
                'compatible messages over named pipes (Windows pipes, Unix '
                'domain sockets elsewhere); the same commands as the .NET '
                "CLI 'npipes'.")
    p.add_argument('--version', action='version', version=__version__)
    sub = p.add_subparsers(dest='command', metavar='COMMAND', required=True,
                           parser_class=_Parser)

    def command(name: str, run: Optional[Callable[[argparse.Namespace], int]],
                summary: str) -> argparse.ArgumentParser:
        c: argparse.ArgumentParser = sub.add_parser(
            name, help=summary, description=summary, allow_abbrev=False)
        if run is not None:
            c.set_defaults(run=run)
        return c

    c = command('send', send, 'Send one message: connect to a waiting '
                'receiver, or create the pipe and wait for one (as npipes\' '
                'send_message).')
    _pipe_options(c)
    _shared_memory_option(c)
    _text_argument(c, 'message text')
    _timeout_option(c)
    add_client_flags(c)

    c = command('receive', receive, 'Receive messages and print each on its '
                'own line: connect to a waiting sender, or create the pipe '
                'and wait.')
    _pipe_options(c)
    _shared_memory_option(c)
    _timeout_option(c)
    c.add_argument('--count', type=_whole(1), default=1, metavar='N',
                   help='how many messages to receive (default 1); '
                   '--timeout applies to each')
    c.add_argument('--json', action='store_true', help='print one JSON '
                   'object per message: {"text", "bytes": payload length, '
                   '"crc": the CRC field as 8 hex digits}, UTF-8 unescaped')
    add_server_flags(c)

    c = command('echo', echo, 'Serve NAME: answer every message with the '
                'same payload, for any number of concurrent clients, until '
                'Ctrl-C or SIGTERM.')
    _pipe_options(c)
    _shared_memory_option(c)
    c.add_argument('--max-connections', type=_whole(1),
                   default=DEFAULT_MAX_CONNECTIONS,
                   metavar='N', help='clients served at once; one more is '
                   'closed at once (default: 1024, fewer under a low '
                   'open-file limit)')
    c.add_argument('--idle-timeout', type=_positive_seconds, default=None,
                   metavar='SECONDS', help="close a client that sends "
                   "nothing for this long (default: never)")
    c.add_argument('--frame-timeout', type=_positive_seconds, default=None,
                   metavar='SECONDS', help='close a client whose frame takes '
                   'longer than this from its first byte (default: never)')
    add_server_flags(c)

    c = command('request', request, 'Connect to the server on NAME, send '
                'TEXT, print the reply.')
    _pipe_options(c)
    _shared_memory_option(c)
    _text_argument(c, 'request text')
    _timeout_option(c)
    add_client_flags(c)

    # No run for 'frame' itself: its subcommands set it (a parent's default
    # would win over theirs on Python 3.8).
    f = command('frame', None, 'Encode text to a frame (hex) or decode a '
                'frame (hex) to text, without a pipe.')
    frame_sub = f.add_subparsers(dest='frame_command', metavar='COMMAND',
                                 required=True, parser_class=_Parser)
    c = frame_sub.add_parser('encode', help='print the frame for TEXT as '
                             'lowercase hex', allow_abbrev=False)
    c.set_defaults(run=frame_encode)
    _text_argument(c, 'text')
    _frame_options(c)
    c = frame_sub.add_parser('decode', help='print the text of one frame, '
                             'or the error that rejects it',
                             allow_abbrev=False)
    c.set_defaults(run=frame_decode)
    c.add_argument('hex', metavar='HEX', help='one whole frame as hex '
                   '(spaces allowed)')
    _frame_options(c)

    for extension in EXTENSIONS:
        before = set(sub.choices)
        extension.add_parser(sub)
        for name in set(sub.choices) - before:
            sub.choices[name].set_defaults(run=extension.run)
    return p


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, PipeTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(exc, FrameError):          # EncodingError is one
        return EXIT_DATA
    if isinstance(exc, (PipeNameError, UsageError, AccessEntryError)):
        return EXIT_USAGE
    return EXIT_OTHER


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread: unwinds like Ctrl-C, so that a
    pipe this process serves is closed (and its socket file removed)."""


def _on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    raise _Terminated()


def _interrupted(code: int) -> int:
    print('npipes: interrupted', file=sys.stderr, flush=True)
    return code


def _utf8_output() -> None:
    """Text goes out as UTF-8 whatever the locale (as the .NET CLI's)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding='utf-8')


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with *argv* (default: ``sys.argv[1:]``);
    return the exit code."""
    _utf8_output()
    parser = _parser()
    args = parser.parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        code: int = args.run(args)
        return code
    except KeyboardInterrupt:
        return _interrupted(EXIT_INTERRUPTED)
    except _Terminated:
        return _interrupted(EXIT_TERMINATED)
    except Exception as exc:
        print(line(f'npipes: {describe(exc, args)}'), file=sys.stderr,
              flush=True)
        return _exit_code(exc)
    finally:
        if in_main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == '__main__':
    sys.exit(main())
