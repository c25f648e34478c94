"""The Python side of the Mono lane's large frame (tests/NPipes.Mono/PeerRoles.cs is the .NET side).

    python3 big_peer.py serve NAME SIZE                serve one connection: check the request, send it back
    python3 big_peer.py request NAME SIZE [any-user]   send the payload as a request, check the reply
                                                       (any-user: allow_other_users on this side)

Byte i of the payload is (i + i // 65536) % 256; CRC on, 32 MiB limit. Prints "ok" and exits 0, or what differed
(or "error TYPE: message") and exits 1.
"""

import sys

import npipes

LIMIT = 32 * 1024 * 1024
BLOCK = bytes(range(256)) * 256          # 64 KiB; block k is this rotated by k


def payload(size: int) -> bytes:
    blocks = (BLOCK[k % 256:] + BLOCK[:k % 256] for k in range(size // len(BLOCK) + 1))
    return b''.join(blocks)[:size]


def difference(actual: bytes, size: int) -> str:
    expected = payload(size)
    if actual == expected:
        return ''
    if len(actual) != size:
        return f'{len(actual)} bytes instead of {size}'
    first = next(i for i in range(size) if actual[i] != expected[i])
    return f'byte {first} is {actual[first]}'


def serve(name: str, size: int) -> str:
    with npipes.Listener(name, crc=True, max_payload=LIMIT) as listener:
        conn = listener.accept(timeout=30)
        try:
            request = conn.recv(timeout=30)
            wrong = difference(request, size)
            if wrong:
                return 'request: ' + wrong
            conn.send(request)
            # The client closes once it has the reply: wait for that before closing.
            try:
                conn.recv(timeout=30)
                return 'a second request arrived'
            except npipes.ConnectionClosedError:
                return ''
        finally:
            conn.close()


def request(name: str, size: int, any_user: bool) -> str:
    conn = npipes.connect(name, timeout=30, crc=True, max_payload=LIMIT,
                          allow_other_users=any_user)
    try:
        wrong = difference(conn.request(payload(size), timeout=30), size)
        return 'reply: ' + wrong if wrong else ''
    finally:
        conn.close()


def main() -> int:
    role, name, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    any_user = sys.argv[4:] == ['any-user']
    try:
        wrong = serve(name, size) if role == 'serve' \
            else request(name, size, any_user)
    except npipes.NPipesError as exc:
        wrong = f'error {type(exc).__name__}: {exc}'
    print(wrong or 'ok', flush=True)
    return 1 if wrong else 0


if __name__ == '__main__':
    sys.exit(main())
