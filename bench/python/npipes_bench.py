#!/usr/bin/env python3
"""The Python figures of the NPipes benchmark.

Each figure measures the npipes package next to raw Python AF_UNIX sockets doing the same work, in the same run
(windows alternate), with the peer in another process, and prints one line in the format of bench/README.md:

    <figure> npipes=<median> raw=<median> ratio=<npipes/raw> unit=<unit> runs=N npipes_min=.. ... [extra]

Every message is checked: ping-pong replies must equal their request (which carries a sequence number), one-way
receivers check each message's length and sequence number and the library checks CRC-32; a batch ends only when
the receiver acknowledges that it counted every message.

`npipes_cpu_us=C/P raw_cpu_us=C/P` give the CPU time per operation of the measuring client (its measured windows)
and of the Python peer (all its operations, warm-up included; absent for the .NET peer), in microseconds: unlike the
rates they hardly move when other jobs share the machine.  `cpu_ratio` is raw's CPU per operation over npipes'
(client + peer where both peers report it, else the clients'). The one-way CRC line adds `crc32_MBps`, what zlib.crc32
does on 1 MiB in this process (best of 5): each side must hash every byte at that speed.

    python3 bench/python/npipes_bench.py [--quick] [--runs N] [--only FIG,FIG] [--dotnet-peer 'CMD ...']
                                         [--dotnet-cli 'CMD ...']

--dotnet-peer is the command that starts a .NET bench peer (the benchmark program followed by --bench-peer); without
it the .NET-facing figure is left out with a note.  --dotnet-cli (default: $NPIPES_CLI) is the .NET CLI command
(e.g. 'dotnet src/NPipes.Cli/bin/Release/net10.0/NPipes.Cli.dll'); py_rpc_pingpong needs its `rpc serve`.
"""

import argparse
import asyncio
import os
import shlex
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'python'))

import npipes  # noqa: E402  (after the path tweak, so the repo's package is measured)
from npipes.connection import Connection  # noqa: E402
from npipes.listener import Listener  # noqa: E402

sys.path.insert(0, HERE)
import rpc_figures  # noqa: E402  (the remote-call figures and their peers: bench/python/rpc_figures.py)

PING = 16
ONEWAY = 1024 * 1024
BIG = 16 * ONEWAY           # py_shm_16MiB; the sinks accept up to this
BATCH = 16
ACK = b'ack!'
SEQ = struct.Struct('<I')


# ---- peers (run in their own process: `npipes_bench.py --peer ROLE ADDRESS [crc]`) ----
# A peer prints `ready` once it listens; when its client leaves it prints `cpu SECONDS` (its CPU time since `ready`)
# and exits.

_CPU_AT_READY = [0.0]


def _ready():
    _CPU_AT_READY[0] = time.process_time()
    sys.stdout.write('ready\n')
    sys.stdout.flush()


def _recv_exact(sock, view):
    got = 0
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            return False
        got += n
    return True


def peer_raw_echo(path, size=PING):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    _ready()
    conn, _ = srv.accept()
    buf = bytearray(size)
    view = memoryview(buf)
    while _recv_exact(conn, view):
        conn.sendall(buf)


def peer_raw_sink(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    _ready()
    conn, _ = srv.accept()
    head = bytearray(8)
    buf = bytearray(BIG)
    view = memoryview(buf)
    while _recv_exact(conn, memoryview(head)):
        count, size = struct.unpack('<II', head)
        for i in range(count):
            if not _recv_exact(conn, view[:size]) or SEQ.unpack_from(buf)[0] != i:
                raise SystemExit(f'raw sink: message {i} short or out of order')
        conn.sendall(ACK)


def peer_np_echo(name, crc):
    with Listener(name, crc=crc) as listener:
        _ready()
        with listener.accept() as conn:
            try:
                while True:
                    conn.send(conn.recv())
            except npipes.errors.ConnectionClosedError:
                pass


def peer_np_echo_two(name, crc):
    """One Python server for two clients (py_aio_requests_10k's threaded and asyncio ones), each on its thread."""
    import threading

    def echo(conn):
        with conn:
            try:
                while True:
                    conn.send(conn.recv())
            except npipes.errors.ConnectionClosedError:
                pass
    with Listener(name, crc=crc) as listener:
        _ready()
        threads = [threading.Thread(target=echo, args=(listener.accept(),)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def _in_place(conn, size, i):
    """Whether the next message, read in place through shared memory, has *size* bytes and sequence number *i*."""
    with conn.recv_buffer() as got:
        return got.shared and len(got) == size and SEQ.unpack_from(got.view)[0] == i


def peer_np_sink(name, crc, shm=False):
    """*shm*: through shared memory, each message read in place (recv_buffer) and unmapped after its check."""
    with Listener(name, crc=crc, max_payload=BIG, shared_memory=shm) as listener:
        _ready()
        with listener.accept() as conn:
            try:
                while True:
                    count, size = struct.unpack('<II', conn.recv())
                    for i in range(count):
                        if shm:
                            if not _in_place(conn, size, i):
                                raise SystemExit(f'npipes shm sink: message {i} wrong')
                            continue
                        payload = conn.recv()
                        if len(payload) != size or SEQ.unpack_from(payload)[0] != i:
                            raise SystemExit(f'npipes sink: message {i} wrong')
                    conn.send(ACK)
            except npipes.errors.ConnectionClosedError:
                pass


# ---- the measuring side ----

class Peer:
    """A peer process; `ready` on its stdout means it listens. `cpu` is its CPU seconds after `ready` (None for a
    peer that does not report it, e.g. the .NET one)."""

    def __init__(self, argv):
        self.cpu = None
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != 'ready':
            self.close()
            raise RuntimeError(f'peer {argv!r} did not start: {line!r}')

    def close(self):
        """Close its stdin (a .NET peer stops then; a Python one when its client left) and collect `cpu`."""
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        for line in out.splitlines():
            if line.startswith('cpu '):
                self.cpu = float(line.split()[1])


def python_peer(role, address, crc=None):
    argv = [sys.executable, os.path.abspath(__file__), '--peer', role, address]
    return Peer(argv + ([crc] if crc else []))


def raw_client(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return sock


class Side:
    """One side of a figure (npipes or raw): its rates per window, and the operations and client CPU time of all its
    windows (warm-up included, as the peer's CPU time is)."""

    def __init__(self, run):
        self.run = run            # run(seconds) -> operations done
        self.rates, self.ops, self.cpu, self.measured_ops, self.measured_cpu = [], 0, 0.0, 0, 0.0

    def window(self, seconds, measured=True):
        cpu, start = time.process_time(), time.perf_counter()
        ops = self.run(seconds)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        self.ops += ops
        if measured:
            self.rates.append(ops / elapsed)
            self.measured_ops += ops
            self.measured_cpu += cpu

    def cpu_us(self, peer):
        """`client/peer` CPU microseconds per operation (peer: all its operations since `ready`)."""
        client = f'{self.measured_cpu / self.measured_ops * 1e6:.1f}'
        return client + ('' if peer.cpu is None else f'/{peer.cpu / self.ops * 1e6:.1f}')

    def cpu_per_op(self, peer, with_peer):
        """Seconds of CPU per operation: the client's, plus the peer's if *with_peer*."""
        client = self.measured_cpu / self.measured_ops
        return client + (peer.cpu / self.ops if with_peer else 0.0)


def measure(runs, seconds, np_side, raw_side):
    """A warm-up window each, then `runs` windows each, alternating."""
    np_side.window(seconds / 2, measured=False)
    raw_side.window(seconds / 2, measured=False)
    for _ in range(runs):
        raw_side.window(seconds)
        np_side.window(seconds)


def pingpong_raw(sock, seconds):
    buf, reply = bytearray(PING), bytearray(PING)
    view = memoryview(reply)
    n, end = 0, time.perf_counter() + seconds
    while True:
        SEQ.pack_into(buf, 0, n)
        sock.sendall(buf)
        if not _recv_exact(sock, view) or reply != buf:
            raise RuntimeError(f'raw ping-pong: reply {n} wrong')
        n += 1
        if n % 64 == 0 and time.perf_counter() >= end:
            return n


def pingpong_np(conn, seconds):
    buf = bytearray(PING)
    n, end = 0, time.perf_counter() + seconds
    while True:
        SEQ.pack_into(buf, 0, n)
        if conn.request(bytes(buf)) != buf:
            raise RuntimeError(f'npipes ping-pong: reply {n} wrong')
        n += 1
        if n % 64 == 0 and time.perf_counter() >= end:
            return n


def _messages(size):
    msgs = []
    for i in range(BATCH):
        m = bytearray(os.urandom(size))
        SEQ.pack_into(m, 0, i)
        msgs.append(bytes(m))
    return msgs


def oneway_raw(sock, seconds, msgs):
    n, end = 0, time.perf_counter() + seconds
    ack = bytearray(len(ACK))
    while True:
        sock.sendall(struct.pack('<II', len(msgs), len(msgs[0])))
        for m in msgs:
            sock.sendall(m)
        if not _recv_exact(sock, memoryview(ack)) or ack != ACK:
            raise RuntimeError('raw one-way: no acknowledgement')
        n += len(msgs)
        if time.perf_counter() >= end:
            return n


def oneway_np(conn, seconds, msgs):
    n, end = 0, time.perf_counter() + seconds
    while True:
        conn.send(struct.pack('<II', len(msgs), len(msgs[0])))
        for m in msgs:
            conn.send(m)
        if conn.recv() != ACK:
            raise RuntimeError('npipes one-way: no acknowledgement')
        n += len(msgs)
        if time.perf_counter() >= end:
            return n


def cpu_ratio(np_side, raw_side, np_peer, raw_peer):
    """raw's CPU per operation over npipes' (client + peer when both peers report theirs, else the clients'): what
    the ratio would be if the machine's CPU, not wake-ups, set the pace; it moves far less than the rates under load."""
    both = np_peer.cpu is not None and raw_peer.cpu is not None
    return raw_side.cpu_per_op(raw_peer, both) / np_side.cpu_per_op(np_peer, both)


def report(figure, np_side, raw_side, np_peer, raw_peer, unit, extra=''):
    np_rates, raw_rates = np_side.rates, raw_side.rates
    n, r = statistics.median(np_rates), statistics.median(raw_rates)
    fmt = lambda v: f'{v:.0f}' if v >= 100 else f'{v:.2f}'  # noqa: E731
    line = (f'{figure} npipes={fmt(n)} raw={fmt(r)} ratio={n / r:.2f} unit={unit} runs={len(np_rates)} '
            f'npipes_min={fmt(min(np_rates))} npipes_max={fmt(max(np_rates))} '
            f'raw_min={fmt(min(raw_rates))} raw_max={fmt(max(raw_rates))} '
            f'npipes_runs={",".join(map(fmt, np_rates))} raw_runs={",".join(map(fmt, raw_rates))} '
            f'npipes_cpu_us={np_side.cpu_us(np_peer)} raw_cpu_us={raw_side.cpu_us(raw_peer)} '
            f'cpu_ratio={cpu_ratio(np_side, raw_side, np_peer, raw_peer):.2f}')
    print(line + (' ' + extra if extra else ''), flush=True)


def _name():
    return f'npb_{os.getpid()}_{os.urandom(4).hex()}'


def crc32_mbps(size=ONEWAY):
    """zlib.crc32 throughput in this process (MB/s, best of 5), the bound of a CRC-checked transfer."""
    data, best = os.urandom(size), float('inf')
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(16):
            zlib.crc32(data)
        best = min(best, (time.perf_counter() - start) / 16)
    return size / best / 1e6


def figure_pingpong(runs, seconds, crc, figure):
    """Ping-pong: npipes Connection.request vs raw sendall/recv of 16 bytes, both against Python peers."""
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = os.path.join(tmp, 'raw.sock')
        name = _name()
        raw_peer = python_peer('raw-echo', raw_path)
        np_peer = python_peer('np-echo', name, 'crc' if crc else 'nocrc')
        try:
            sock = raw_client(raw_path)
            conn = npipes.connect(name, timeout=10, crc=crc)
            np_side = Side(lambda t: pingpong_np(conn, t))
            raw_side = Side(lambda t: pingpong_raw(sock, t))
            measure(runs, seconds, np_side, raw_side)
            sock.close()
            conn.close()
        finally:
            raw_peer.close()
            np_peer.close()
    report(figure, np_side, raw_side, np_peer, raw_peer, 'roundtrips/s', f'crc={"on" if crc else "off"}')


def figure_aio_pingpong(runs, seconds):
    """Ping-pong with npipes.aio: `await aio.Connection.request` vs the threaded `Connection.request` (raw= is the
    threaded client, base=threaded), each against its own Python `Listener` echo (CRC on)."""
    from npipes import aio
    loop = asyncio.new_event_loop()
    thr_name, aio_name = _name(), _name()
    thr_peer, aio_peer = python_peer('np-echo', thr_name, 'crc'), python_peer('np-echo', aio_name, 'crc')
    try:
        conn = npipes.connect(thr_name, timeout=10, crc=True)
        aconn = loop.run_until_complete(aio.connect(aio_name, timeout=10, crc=True))

        async def pingpong_aio(seconds):
            buf = bytearray(PING)
            n, end = 0, time.perf_counter() + seconds
            while True:
                SEQ.pack_into(buf, 0, n)
                if await aconn.request(bytes(buf)) != buf:
                    raise RuntimeError(f'npipes.aio ping-pong: reply {n} wrong')
                n += 1
                if n % 64 == 0 and time.perf_counter() >= end:
                    return n

        aio_side = Side(lambda t: loop.run_until_complete(pingpong_aio(t)))
        thr_side = Side(lambda t: pingpong_np(conn, t))
        measure(runs, seconds, aio_side, thr_side)
        conn.close()
        loop.run_until_complete(aconn.aclose())
    finally:
        thr_peer.close()
        aio_peer.close()
        loop.close()
    report('py_aio_pingpong_16B', aio_side, thr_side, aio_peer, thr_peer, 'roundtrips/s', 'crc=on base=threaded')


REQUESTS = 10_000


class _Unreported:
    """In place of a peer whose CPU time is not one side's (py_aio_requests_10k's peer serves both)."""
    cpu = None


def figure_aio_requests(runs):
    """10,000 sequential 16-byte requests per window: `await aio.Connection.request` vs the threaded
    `Connection.request` (raw= is the threaded client, base=threaded), both connected to the same Python server (CRC
    on), alternating; CPU per request is the clients' (the server's serves both)."""
    from npipes import aio
    loop = asyncio.new_event_loop()
    name = _name()
    peer = python_peer('np-echo-two', name, 'crc')
    try:
        conn = npipes.connect(name, timeout=10, crc=True)
        aconn = loop.run_until_complete(aio.connect(name, timeout=10, crc=True))

        def threaded(_seconds):
            buf = bytearray(PING)
            for n in range(REQUESTS):
                SEQ.pack_into(buf, 0, n)
                if conn.request(bytes(buf)) != buf:
                    raise RuntimeError(f'threaded requests: reply {n} wrong')
            return REQUESTS

        async def asyncio_requests():
            buf = bytearray(PING)
            for n in range(REQUESTS):
                SEQ.pack_into(buf, 0, n)
                if await aconn.request(bytes(buf)) != buf:
                    raise RuntimeError(f'npipes.aio requests: reply {n} wrong')
            return REQUESTS

        aio_side = Side(lambda _seconds: loop.run_until_complete(asyncio_requests()))
        thr_side = Side(threaded)
        measure(runs, 0, aio_side, thr_side)
        conn.close()
        loop.run_until_complete(aconn.aclose())
    finally:
        peer.close()
        loop.close()
    report('py_aio_requests_10k', aio_side, thr_side, _Unreported, _Unreported, 'requests/s',
           f'requests={REQUESTS} crc=on base=threaded server=python-shared')


def figure_oneway(runs, seconds, crc, figure, shm=False, size=ONEWAY):
    """One-way messages of *size* bytes (1 MiB) vs raw; *shm*: through shared memory, written in place and read
    (py_shm_1MiB, py_shm_16MiB)."""
    msgs = _messages(size)
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = os.path.join(tmp, 'raw.sock')
        name = _name()
        raw_peer = python_peer('raw-sink', raw_path)
        np_peer = python_peer('np-shm-sink' if shm else 'np-sink', name, 'crc' if crc else 'nocrc')
        try:
            sock = raw_client(raw_path)
            conn = npipes.connect(name, timeout=10, crc=crc, max_payload=BIG, shared_memory=shm)
            np_side = Side(lambda t: (oneway_shm if shm else oneway_np)(conn, t, msgs))
            raw_side = Side(lambda t: oneway_raw(sock, t, msgs))
            measure(runs, seconds, np_side, raw_side)
            sock.close()
            conn.close()
        finally:
            raw_peer.close()
            np_peer.close()
    mb = size / 1e6
    report(figure, np_side, raw_side, np_peer, raw_peer, 'msgs/s',
           f'npipes_MBps={statistics.median(np_side.rates) * mb:.0f} '
           f'raw_MBps={statistics.median(raw_side.rates) * mb:.0f} crc={"on" if crc else "off"}'
           + (f' crc32_MBps={crc32_mbps():.0f}' if crc else '') + (' shared_memory=on' if shm else ''))


def figure_dotnet_pingpong(runs, seconds, dotnet_peer):
    """A Python client against a .NET PipeServer (RequestAsync echo, CRC on), vs raw Python against a raw .NET pipe
    server (NamedPipeServerStream reading and writing 16 bytes)."""
    base = shlex.split(dotnet_peer)
    np_name, raw_name = _name(), _name()
    np_peer = Peer(base + ['pp-np-async', np_name, 'crc'])
    raw_peer = Peer(base + ['pp-raw-async', raw_name])
    try:
        sock = raw_client(npipes.transport.pipe_address(raw_name))
        conn = npipes.connect(np_name, timeout=10, crc=True)
        np_side = Side(lambda t: pingpong_np(conn, t))
        raw_side = Side(lambda t: pingpong_raw(sock, t))
        measure(runs, seconds, np_side, raw_side)
        sock.close()
        conn.close()
    finally:
        np_peer.close()
        raw_peer.close()
    report('py_dotnet_pingpong_16B', np_side, raw_side, np_peer, raw_peer, 'roundtrips/s', 'crc=on peer=dotnet')


# ---- py_rpc_pingpong: npipes.rpc's RpcClient against the .NET CLI's `npipes rpc serve` ----

RPC_TEXT = 16   # characters of the echoed text: a sequence number in hex


def _rpc_request(seq):
    """The bytes RpcClient sends for call number *seq* of echo(text): same size for every seq."""
    from npipes._jsonrpc import request
    return request(1, 'echo', [f'{seq:0{RPC_TEXT}x}'])


def pingpong_rpc(client, seconds):
    n, end = 0, time.perf_counter() + seconds
    while True:
        text = f'{n:0{RPC_TEXT}x}'
        if client.call('echo', text) != text:
            raise RuntimeError(f'rpc ping-pong: reply {n} wrong')
        n += 1
        if n % 64 == 0 and time.perf_counter() >= end:
            return n


def pingpong_raw_json(sock, seconds):
    size = len(_rpc_request(0))
    reply = bytearray(size)
    view = memoryview(reply)
    n, end = 0, time.perf_counter() + seconds
    while True:
        msg = _rpc_request(n)
        sock.sendall(msg)
        if not _recv_exact(sock, view) or reply != msg:
            raise RuntimeError(f'raw JSON ping-pong: reply {n} wrong')
        n += 1
        if n % 64 == 0 and time.perf_counter() >= end:
            return n


class CliServer(Peer):
    """`npipes rpc serve NAME` of the .NET CLI; its first line says it serves."""

    def __init__(self, argv, name):
        self.cpu = None                 # it does not report its CPU time
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith(f"npipes rpc: serving '{name}'"):
            self.close()
            raise RuntimeError(f'{argv!r} did not start: {line!r}')

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def figure_rpc_pingpong(runs, seconds, dotnet_cli):
    """Round trips/s of RpcClient.call('echo', 16 chars) against the .NET CLI's `npipes rpc serve` (StreamJsonRpc on
    NPipes.JsonRpc, CRC off), vs raw Python AF_UNIX ping-pong of the same JSON request bytes against a raw Python
    echo peer: what JSON-RPC, the framing, StreamJsonRpc's dispatch and the engine's threads cost over moving the
    bytes."""
    from npipes import rpc
    name = _name()
    size = len(_rpc_request(0))
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = os.path.join(tmp, 'raw.sock')
        raw_peer = python_peer('raw-echo-n', raw_path, str(size))
        server = CliServer(shlex.split(dotnet_cli) + ['rpc', 'serve', name], name)
        try:
            sock = raw_client(raw_path)
            client = rpc.connect(name, timeout=10)
            rpc_side = Side(lambda t: pingpong_rpc(client, t))
            raw_side = Side(lambda t: pingpong_raw_json(sock, t))
            measure(runs, seconds, rpc_side, raw_side)
            sock.close()
            client.close()
        finally:
            server.close()
            raw_peer.close()
    report('py_rpc_pingpong', rpc_side, raw_side, server, raw_peer, 'roundtrips/s',
           f'peer=dotnet-rpc request_bytes={size} crc=off')


# ---- py_shm_1MiB / py_dotnet_shm_1MiB: 1 MiB messages through shared memory (docs/shared-memory.md) ----

def oneway_shm(conn, seconds, msgs):
    """oneway_np with every message written in place (create_message: the bytes go once, into the memfd)."""
    n, end = 0, time.perf_counter() + seconds
    while True:
        conn.send(struct.pack('<II', len(msgs), len(msgs[0])))
        for m in msgs:
            with conn.create_message(len(m)) as out:
                out.buffer[:] = m
                out.send()
        if conn.recv() != ACK:
            raise RuntimeError('npipes shm one-way: no acknowledgement')
        n += len(msgs)
        if time.perf_counter() >= end:
            return n


class CliEcho(CliServer):
    """`npipes echo NAME --shared-memory` of the .NET CLI; its first line says it serves."""

    def __init__(self, argv, name):
        self.cpu = None
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith(f"npipes echo: serving '{name}'"):
            self.close()
            raise RuntimeError(f'{argv!r} did not start: {line!r}')


def echo_shm(conn, seconds, msgs):
    """1 MiB round trips, written in place and read in place; 2 MiB moved per operation."""
    n, end = 0, time.perf_counter() + seconds
    while True:
        for i, m in enumerate(msgs):
            with conn.create_message(len(m)) as out:
                out.buffer[:] = m
                out.send()
            with conn.recv_buffer() as got:
                if len(got) != len(m) or SEQ.unpack_from(got.view)[0] != i:
                    raise RuntimeError(f'npipes shm echo: reply {i} wrong')
        n += len(msgs)
        if time.perf_counter() >= end:
            return n


def oneway_raw_dotnet(sock, seconds, msgs):
    """oneway_raw against the .NET raw sink (`ow-raw`: 16-byte head, 8-byte acknowledgement)."""
    n, end = 0, time.perf_counter() + seconds
    ack = bytearray(8)
    while True:
        sock.sendall(struct.pack('<qq', len(msgs), len(msgs[0])))
        for m in msgs:
            sock.sendall(m)
        if not _recv_exact(sock, memoryview(ack)):
            raise RuntimeError('raw one-way (.NET sink): no acknowledgement')
        n += len(msgs)
        if time.perf_counter() >= end:
            return n


def figure_dotnet_shm(runs, seconds, dotnet_cli, dotnet_peer):
    """Python client against the .NET CLI's `npipes echo --shared-memory` (1 MiB written and read in place each
    way, CRC off) vs a Python raw-socket client against the .NET bench peer's raw sink (`ow-raw`, the raw .NET
    baseline this file uses). Unit MiB/s: the echo moves 2 MiB per round trip, the sink 1 MiB per message."""
    msgs = _messages(ONEWAY)
    name, raw_name = _name(), _name()
    server = CliEcho(shlex.split(dotnet_cli) + ['echo', name, '--shared-memory'], name)
    raw_peer = Peer(shlex.split(dotnet_peer) + ['ow-raw', raw_name])
    try:
        sock = raw_client(npipes.transport.pipe_address(raw_name))
        conn = npipes.connect(name, timeout=10, shared_memory=True, max_payload=2 * ONEWAY)
        np_side, raw_side = Side(lambda t: 2 * echo_shm(conn, t, msgs)), Side(lambda t: oneway_raw_dotnet(sock, t, msgs))
        measure(runs, seconds, np_side, raw_side)
        for done in (sock, conn):
            done.close()
    finally:
        for done in (server, raw_peer):
            done.close()
    report('py_dotnet_shm_1MiB', np_side, raw_side, server, raw_peer, 'MiB/s',
           'crc=off shared_memory=on peer=dotnet-cli-echo raw_peer=dotnet-ow-raw')


FIGURES = ['py_pingpong_16B', 'py_pingpong_16B_nocrc', 'py_aio_pingpong_16B', 'py_oneway_1MiB', 'py_oneway_1MiB_nocrc',
           'py_dotnet_pingpong_16B', 'py_rpc_pingpong']
FIGURES += ['py_shm_1MiB', 'py_shm_16MiB', 'py_dotnet_shm_1MiB']
FIGURES.insert(FIGURES.index('py_aio_pingpong_16B') + 1, 'py_aio_requests_10k')


def main(argv):
    p = argparse.ArgumentParser(description='Python figures of the NPipes benchmark')
    p.add_argument('--quick', action='store_true')
    p.add_argument('--runs', type=int)
    p.add_argument('--only', default='')
    p.add_argument('--dotnet-peer', default=os.environ.get('NPIPES_BENCH_DOTNET_PEER'))
    p.add_argument('--dotnet-cli', default=os.environ.get('NPIPES_CLI'))
    p.add_argument('--peer', nargs='+')
    a = p.parse_args(argv)
    if a.peer and a.peer[0] in rpc_figures.PEERS:
        rpc_figures.PEERS[a.peer[0]](a.peer[1], _ready)
        print(f'cpu {time.process_time() - _CPU_AT_READY[0]:.6f}', flush=True)
        return 0
    if a.peer:
        role, address = a.peer[0], a.peer[1]
        crc = len(a.peer) > 2 and a.peer[2] == 'crc'
        try:
            {'raw-echo': lambda: peer_raw_echo(address), 'raw-sink': lambda: peer_raw_sink(address),
             'raw-echo-n': lambda: peer_raw_echo(address, int(a.peer[2])),
             'np-echo': lambda: peer_np_echo(address, crc), 'np-sink': lambda: peer_np_sink(address, crc),
             'np-shm-sink': lambda: peer_np_sink(address, crc, shm=True),
             'np-echo-two': lambda: peer_np_echo_two(address, crc)}[role]()
        except (ConnectionError, BrokenPipeError):
            pass
        print(f'cpu {time.process_time() - _CPU_AT_READY[0]:.6f}', flush=True)
        return 0
    runs = max(3, a.runs or (5 if a.quick else 9))
    seconds = 0.4 if a.quick else 1.0
    only = [f for f in a.only.split(',') if f]
    want = lambda f: not only or f in only  # noqa: E731
    print(f'# npipes_bench.py mode={"quick" if a.quick else "full"} runs={runs} python={sys.version.split()[0]}',
          flush=True)
    status = 0
    jobs = [
        ('py_pingpong_16B', lambda: figure_pingpong(runs, seconds, True, figure='py_pingpong_16B')),
        ('py_pingpong_16B_nocrc', lambda: figure_pingpong(runs, seconds, False, figure='py_pingpong_16B_nocrc')),
        ('py_aio_pingpong_16B', lambda: figure_aio_pingpong(runs, seconds)),
        ('py_aio_requests_10k', lambda: figure_aio_requests(runs)),
        ('py_oneway_1MiB', lambda: figure_oneway(runs, seconds, True, 'py_oneway_1MiB')),
        ('py_oneway_1MiB_nocrc', lambda: figure_oneway(runs, seconds, False, 'py_oneway_1MiB_nocrc')),
        ('py_dotnet_pingpong_16B', lambda: figure_dotnet_pingpong(runs, seconds, a.dotnet_peer)),
        ('py_rpc_pingpong', lambda: figure_rpc_pingpong(runs, seconds, a.dotnet_cli)),
        ('py_shm_1MiB', lambda: figure_oneway(runs, seconds, False, 'py_shm_1MiB', shm=True)),
        ('py_shm_16MiB', lambda: figure_oneway(runs, seconds, False, 'py_shm_16MiB', shm=True, size=BIG)),
        ('py_dotnet_shm_1MiB', lambda: figure_dotnet_shm(runs, seconds, a.dotnet_cli, a.dotnet_peer)),
    ]
    jobs += rpc_figures.jobs(sys.modules[__name__], runs, seconds)
    for figure, job in jobs:
        if not want(figure):
            continue
        if figure == 'py_dotnet_shm_1MiB' and not (a.dotnet_cli and a.dotnet_peer):
            print(f'{figure} skipped=needs --dotnet-cli (or $NPIPES_CLI) and --dotnet-peer', flush=True)
            continue
        if figure == 'py_dotnet_pingpong_16B' and not a.dotnet_peer:
            print(f'{figure} skipped=no --dotnet-peer command given', flush=True)
            continue
        if figure == 'py_rpc_pingpong' and not a.dotnet_cli:
            print(f'{figure} skipped=no --dotnet-cli command given (nor $NPIPES_CLI)', flush=True)
            continue
        try:
            job()
        except Exception as exc:  # a figure that fails says so on its line, and the program exits 1
            print(f'{figure} error={type(exc).__name__}: {exc}', flush=True)
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
