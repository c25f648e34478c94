#!/usr/bin/env python3
"""Calls the worker service sample (samples/WorkerService) over its pipe with python/npipes.

Usage: python3 samples/python_client.py [PIPE_NAME] [TEXT ...]
Prints one line per request: "<text> -> <reply>". Exits 1 with the error on failure.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))

import npipes  # noqa: E402  (after the path set-up above)


def main(argv):
    name = argv[1] if len(argv) > 1 else 'npipes-sample'
    texts = argv[2:] or ['hello from python', 'named pipes']
    try:
        # Waits up to 30 s for the service to listen; every request gets 10 s.
        with npipes.connect(name, timeout=30) as conn:
            for text in texts:
                print(f'{text} -> {conn.request(text, timeout=10)}', flush=True)
    except npipes.NPipesError as exc:
        print(f'error: {type(exc).__name__}: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
