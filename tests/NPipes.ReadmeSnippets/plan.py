"""How each README snippet is run: which peer it needs and what it must print.

A snippet is a fenced ```csharp or ```python block preceded by a line ``<!-- snippet: NAME -->`` in one of the files
.ci/readme-lane.sh names (every README and docs/).  Each entry of RUNS is one run: its processes are started together (servers first, once their
pipe exists), every other process must exit 0 within its bound and print the expected lines, then the servers get
SIGINT (Ctrl-C) and must exit 0.  A snippet passes when every run it takes part in passes, and a snippet that no run
names fails, so a new snippet cannot go untested.

Pipe names written in the snippets ("calc", 'demo', ...: PIPES) are made unique per lane run; ``{calc}`` in a command
stands for the unique name.
"""

from typing import List, NamedTuple, Optional, Tuple

# The names the snippets use; each is replaced by NAME-<random> in the generated programs and in commands.
PIPES = ('demo', 'calc', 'pycalc', 'orders', 'upper', 'other-service')


class Proc(NamedTuple):
    snippet: Optional[str] = None      # a snippet's name, or None for a command
    command: Tuple[str, ...] = ()      # argv for a command ({npipes} is the repository's CLI)
    expect: Tuple[str, ...] = ()       # lines its standard output must contain, whole
    serves: Optional[str] = None       # a server: the pipe (of PIPES) to wait for; stopped with SIGINT at the end


def snippet(name: str, *expect: str) -> Proc:
    return Proc(snippet=name, expect=expect)


def server(name: str, pipe: str) -> Proc:
    return Proc(snippet=name, serves=pipe)


def command(*argv: str, expect: Tuple[str, ...] = ()) -> Proc:
    return Proc(command=argv, expect=expect)


RUNS: List[List[Proc]] = [
    # README.md: C# in one minute
    [snippet('ipc-send'), snippet('ipc-receive', 'Hello')],
    [snippet('ipc-options'),
     command('{npipes}', 'receive', '{demo}', '--crc', '--byte-order', 'little', '--encoding', 'utf-8',
             '--timeout', '60', expect=('héllo',))],
    [server('calc-server', 'calc'), snippet('connection', '4', '2 6 6', '42')],
    [snippet('codec', '0000000d0000000548656c6c6ff7d18982', 'Hello')],
    [snippet('json', 'Receipt { OrderId = 7, Total = 10.00 }')],
    [snippet('shared-memory', '8388609')],
    [server('calc-server', 'calc'),
     snippet('client', 'Disconnected -> Connecting', 'Connecting -> Connected', '42', 'Connected -> Closed')],
    # README.md: Running in a .NET service
    [server('hosting', 'upper'), command('{npipes}', 'request', '{upper}', 'hello', '--timeout', '60', expect=('HELLO',))],
    # README.md: Security, a service and its users
    [server('access-service', 'orders'), snippet('access-client', 'server: root', 'status for root (uid 0)')],
    [server('access-service', 'orders'),
     command('{npipes}', 'request', '{orders}', 'status', '--server-user', 'root', '--timeout', '60', expect=('status for root (uid 0)',))],
    # README.md: Remote calls, each side serving the other
    [server('rpc-server', 'calc'), snippet('py-rpc-client', '3')],
    [server('py-rpc-server', 'pycalc'), snippet('rpc-client', '3')],
    # README.md: Remote calls, typed, a Python class served
    [server('py-rpc-typed-server', 'pycalc'), snippet('py-rpc-proxy', '5')],
    # src/NPipes/README.md (the package's README)
    [snippet('pkg-ipc-send'), snippet('pkg-ipc-receive', 'Hello')],
    [server('pkg-server', 'calc'), snippet('pkg-client', 'HELLO')],
    # src/NPipes.JsonRpc/README.md, src/NPipes.Hosting/README.md
    [snippet('jsonrpc-pkg', '3', '42')],
    [server('hosting-pkg', 'calc'), command('{npipes}', 'request', '{calc}', 'hello', '--timeout', '60', expect=('HELLO',))],
    # python/README.md (npipes' own default pipe name: each run has a TMPDIR of its own)
    [snippet('py-ipc-send'), snippet('py-ipc-receive', 'Hello')],
    [server('py-listener', 'calc'), snippet('py-connect', '4', '6')],
    [server('py-rpc-serve', 'calc'), snippet('py-rpc-call', '5')],
    # python/README.md: who may connect (a Python daemon and client; each with the .NET one)
    [server('py-access-service', 'orders'), snippet('py-access-client', 'server: root', 'status for root (uid 0)')],
    [server('access-service', 'orders'), snippet('py-access-client', 'server: root', 'status for root (uid 0)')],
    [server('py-access-service', 'orders'), snippet('access-client', 'server: root', 'status for root (uid 0)')],
]
