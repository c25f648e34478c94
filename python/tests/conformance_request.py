"""``python -m npipes request NAME TEXT [--timeout S]`` for the conformance
matrix, while the Python CLI has no request command: one request on a
persistent connection (``npipes.connect(...).request(...)``), the reply
printed, and the CLI's error line and exit codes (0 ok, 3 timeout, 1 other).
conformance_procs.client() uses the real CLI command once it exists.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from npipes import connect  # noqa: E402
from npipes.__main__ import _exit_code  # noqa: E402  (the CLI's own mapping)


def main(argv=None):
    p = argparse.ArgumentParser(prog='npipes request')
    p.add_argument('name')
    p.add_argument('text')
    p.add_argument('--timeout', type=float, default=None)
    args = p.parse_args(argv)
    try:
        with connect(args.name, timeout=args.timeout) as conn:
            print(conn.request(args.text, timeout=args.timeout), flush=True)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:        # one error line, as the CLI prints it
        print(f'npipes: error: {exc}'.replace('\n', ' '), file=sys.stderr)
        return _exit_code(exc)
    return 0


if __name__ == '__main__':
    sys.exit(main())
