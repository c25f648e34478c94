#!/usr/bin/env python3
"""Client CPU per 16-byte round trip: raw socket loop, npipes Connection.request, and a hand-inlined minimum.

One socketpair, a forked child echoing whatever arrives (so npipes frames come back as valid frames), and three client
loops measured alternately with time.process_time (7 rounds x 5,000 round trips; min and median printed):

    raw      sendall of a 28-byte buffer + recv_into an 8 KiB buffer (what the raw py_pingpong loop costs, frame-sized)
    npipes   Connection.request(16 bytes) with CRC over the package's Unix Stream
    minimum  what any CRC framing must do, inlined: one struct pack of the frame with zlib.crc32, sendall, recv_into,
             unpack of header and CRC field, the payload as bytes, zlib.crc32 to check it

What it shows: Python work between two system calls of a ping-pong costs several times what it costs in a tight loop
(bench/README.md), so the framing's few C calls and attribute loads are most of npipes' extra CPU per round trip.

    python3 bench/python/pingpong_cpu.py
"""

import os
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'python'))

from npipes._unixsock import Stream  # noqa: E402
from npipes.connection import Connection  # noqa: E402

N, ROUNDS = 5000, 7
SEQ = struct.Struct('<I')


def main():
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        ours.close()
        buf = bytearray(8192)
        while True:
            n = theirs.recv_into(buf)
            if not n:
                os._exit(0)
            theirs.sendall(memoryview(buf)[:n])
    theirs.close()
    conn = Connection(Stream(ours), crc=True)
    big = bytearray(8192)
    view = memoryview(big)
    frame = struct.Struct('>II16sI')
    header, field = struct.Struct('>II'), struct.Struct('>I')

    def raw():
        buf = bytearray(28)
        for n in range(N):
            SEQ.pack_into(buf, 0, n)
            ours.sendall(bytes(buf), socket.MSG_NOSIGNAL)
            got = 0
            while got < 28:
                got += ours.recv_into(view)

    def npipes():
        buf = bytearray(16)
        for n in range(N):
            SEQ.pack_into(buf, 0, n)
            if conn.request(bytes(buf)) != buf:
                raise SystemExit('npipes: wrong reply')

    def minimum():
        buf = bytearray(16)
        for n in range(N):
            SEQ.pack_into(buf, 0, n)
            payload = bytes(buf)
            ours.sendall(frame.pack(24, 16, payload, zlib.crc32(payload)), socket.MSG_NOSIGNAL)
            ours.recv_into(view)                  # 28 bytes, one read (a socketpair, nothing else in flight)
            _, size = header.unpack_from(big)
            reply = view[8:8 + size].tobytes()
            (crc,) = field.unpack_from(big, 8 + size)
            if zlib.crc32(reply) != crc or reply != buf:
                raise SystemExit('minimum: wrong reply')

    loops = [raw, npipes, minimum]
    times = {f.__name__: [] for f in loops}
    for _ in range(ROUNDS):
        for f in loops:
            cpu = time.process_time()
            f()
            times[f.__name__].append((time.process_time() - cpu) / N * 1e6)
    for name, t in times.items():
        t.sort()
        print(f'{name:8s} client CPU per round trip: min {t[0]:.2f} us, median {t[len(t) // 2]:.2f} us')
    conn.close()
    os.waitpid(pid, 0)


if __name__ == '__main__':
    main()
