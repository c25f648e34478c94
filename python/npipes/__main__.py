"""Command line: ``python -m npipes send|receive|echo|rpc ...``.

Exit codes: 0 ok, 2 usage, 3 timeout, 4 data error (bad frame, CRC
mismatch, text invalid in the encoding), 1 anything else.  Errors are
one line on stderr.
"""

import argparse
import codecs
import json
import signal
import sys

from . import _cli_rpc
from .errors import (EncodingError, FrameError, PipeNameError,
                     PipeTimeoutError)
from .ipc import IPC
from .listener import Listener, echo_handler
from .message import to_text

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_TIMEOUT, EXIT_DATA = 0, 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_USAGE, f'{self.prog}: error: {message}\n')


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def _encoding(text):
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise argparse.ArgumentTypeError(f'unknown encoding {text!r}') \
            from None


def _seconds(text):
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {value}')
    return value


def _parser():
    p = _Parser(prog='npipes', description='Send and receive npipes 1.0.1 '
                'messages over named pipes.')
    sub = p.add_subparsers(dest='command', required=True,
                           parser_class=_Parser)

    def common(sp, timeout=True):
        sp.add_argument('name', help='pipe name')
        sp.add_argument('--crc', action='store_true',
                        help='send / check a CRC-32 of the payload')
        sp.add_argument('--byte-order', choices=('big', 'little'),
                        default='big', help='default: big (what npipes '
                        '1.0.1 writes)')
        sp.add_argument('--encoding', default='ascii', type=_encoding,
                        help='text encoding (default: ascii, strict)')
        if timeout:
            sp.add_argument('--timeout', type=_seconds, default=None,
                            help='seconds to wait for the peer '
                            '(default: forever)')

    s = sub.add_parser('send', help='send one message')
    common(s)
    s.add_argument('text', help="the text, or '-' to read standard input")
    r = sub.add_parser('receive', help='receive messages and print them')
    common(r)
    r.add_argument('--count', type=_positive, default=1,
                   help='number of messages (default 1)')
    r.add_argument('--json', action='store_true', help='print one JSON '
                   'object per message: {"text", "bytes": payload length, '
                   '"crc": CRC field as 8 hex digits}')
    e = sub.add_parser('echo', help='serve clients, answering every frame '
                       'with the same payload, until SIGTERM/Ctrl-C')
    common(e, timeout=False)
    _cli_rpc.add_parser(sub)
    return p


def _read_stdin(encoding):
    """All of standard input, byte for byte, decoded strictly (as the .NET CLI)."""
    return to_text(sys.stdin.buffer.read(), encoding)


def _connection_error(conn, exc):
    """echo: one client's failure is one line on stderr; serving goes on."""
    print(f'npipes: connection error: {exc}'.replace('\n', ' '),
          file=sys.stderr, flush=True)


def _run(args):
    if args.command == 'rpc':
        return _cli_rpc.run(args)
    if args.command == 'echo':
        listener = Listener(args.name, crc=args.crc, endian=args.byte_order,
                            encoding=args.encoding, on_error=_connection_error)
        # close() takes no locks, so it is safe in a signal handler; the
        # accept() it interrupts then sees the listener closed.
        signal.signal(signal.SIGTERM, lambda *_: listener.close())
        try:
            listener.serve_forever(echo_handler)
        except KeyboardInterrupt:
            pass
        finally:
            listener.close()
        return EXIT_OK
    ipc = IPC(args.name, encoding=args.encoding, endian=args.byte_order,
              timeout=args.timeout)
    if args.command == 'send':
        text = _read_stdin(args.encoding) if args.text == '-' else args.text
        ipc.send_message(text, crc=args.crc)
        return EXIT_OK
    for _ in range(args.count):
        payload, crc = ipc._receive(args.crc)
        text = to_text(payload, args.encoding)
        print(json.dumps({'text': text, 'bytes': len(payload),
                          'crc': f'{crc:08x}'}, separators=(',', ':'))
              if args.json else text, flush=True)
    return EXIT_OK


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        code = _exit_code(exc)
        print(f'npipes: error: {exc}'.replace('\n', ' '), file=sys.stderr)
        return code


def _exit_code(exc):
    if isinstance(exc, PipeTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(exc, (FrameError, EncodingError)):
        return EXIT_DATA
    if isinstance(exc, PipeNameError):
        return EXIT_USAGE
    return EXIT_OTHER


if __name__ == '__main__':
    sys.exit(main())
