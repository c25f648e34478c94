namespace NPipes.Tests.Hostile;

/// <summary>
/// The client side of the descriptor-exhaustion tests, as a python3 script (its own process, with its own raised
/// open-file limit, so the test host's descriptors are not the ones at stake). Arguments: socket path, mode ("echo":
/// npipes frames echoed; "rpc": JSON-RPC echo calls), idle clients, burst clients. Prints one line per step.
/// </summary>
internal static class ExhaustionClients
{
    public const string Script = """
        import json, resource, socket, struct, sys, time
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
        path, mode, idle, burst = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        def frame(b): return struct.pack('>II', len(b) + 8, len(b)) + b + b'\0\0\0\0'
        def read(s, n):
            d = b''
            while len(d) < n:
                c = s.recv(n - len(d))
                if not c: raise ConnectionError('closed')
                d += c
            return d
        ids = [0]
        def round_trip(s):
            ids[0] += 1
            if mode == 'rpc':
                s.sendall(frame(json.dumps({'jsonrpc': '2.0', 'id': ids[0], 'method': 'echo', 'params': ['hi']}).encode()))
                _, n = struct.unpack('>II', read(s, 8)); body = json.loads(read(s, n + 4)[:n])
                return body.get('result') == 'hi'
            s.sendall(frame(b'hi')); return read(s, 14)[8:10] == b'hi'
        def connect():
            s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(path); return s
        first = connect()
        print('first', 'ok' if round_trip(first) else 'bad', flush=True)
        held = []
        for i in range(idle):
            try: held.append(connect())
            except OSError as e: print('connect failed', i, e, flush=True); break
        print('opened', len(held), flush=True)
        # Let the server work through its backlog: it accepts up to its limit and closes the rest at once (they read
        # EOF). Wait until the count of closed ones stops changing (a settle heuristic; nothing is asserted on it).
        import select
        closed, last, still = set(), -1, 0
        while still < 10:
            ready = select.select([s for s in held if s not in closed], [], [], 0.1)[0]
            for s in ready:
                try:
                    if s.recv(1) == b'': closed.add(s)
                except OSError: closed.add(s)
            still = still + 1 if len(closed) == last else 0
            last = len(closed)
        for i in range(burst):
            try: connect().close()
            except OSError: pass
        print('existing', 'ok' if round_trip(first) else 'bad', flush=True)
        for s in held: s.close()
        start, attempts = time.monotonic(), 0
        while True:
            attempts += 1
            try:
                s = connect()
                if round_trip(s): print('new ok after %d attempts, %.2f s' % (attempts, time.monotonic() - start), flush=True); break
            except OSError: pass
            if time.monotonic() - start > 20: print('new failed', flush=True); break
            time.sleep(0.05)
        print('existing', 'ok' if round_trip(first) else 'bad', flush=True)
        """;
}
