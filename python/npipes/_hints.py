"""Every "likely cause" an error names, written once here (.NET:
src/NPipes/Errors/MismatchHint.cs, the same rules and words; one function
per cause).  Used by the frame checks, the request paths, the RPC clients
and both CLIs.

A hint names what usually causes an error and never claims to know: a
server that refuses a frame looks to its client exactly like one that
stopped (docs/wire-format.md section 6).
"""

from __future__ import annotations

from typing import Optional

__all__ = ['BYTE_ORDER_QUESTION', 'SHARED_MEMORY', 'SHARED_MEMORY_OPTION',
           'SERVER_CLOSES',
           'NO_REPLY', 'byte_order', 'another_byte_order', 'is_shared_memory',
           'shared_memory',
           'closed_unread', 'cut_while_sending', 'lost_before_answer', 'no_crc',
           'other_encoding']

BYTE_ORDER_QUESTION = 'Does the peer use another byte order?'

#: What a header that is a shared-memory descriptor frame's means here
#: (docs/shared-memory.md section 1, .NET's words with Python's option).
SHARED_MEMORY = ('The peer sends shared-memory frames (docs/shared-memory.md): '
                 'turn shared memory on here too (shared_memory=True, '
                 '--shared-memory).')

#: The CLIs' line for it.
SHARED_MEMORY_OPTION = ('the peer sends shared-memory frames: use '
                        '--shared-memory on both sides, or on neither')

#: Why a server closes a connection without replying, and what to check.
SERVER_CLOSES = ('a server closes a connection whose frame it cannot read: '
                 'check that both sides use the same CRC setting, byte '
                 'order, encoding and maximum message size')

#: A request whose peer closed the connection before replying.
NO_REPLY = 'the server closed the connection without replying; ' + \
    SERVER_CLOSES

#: The MessageLength bit a descriptor frame sets (docs/shared-memory.md 2).
_SHARED_BIT = 0x80000000
#: DataLength of a descriptor frame, and some room above it: with DataLength
#: unknown, a MessageLength this close above the bit is enough to suspect one.
_DESCRIPTOR = 32
_SLACK = 32


def _swap(value: int) -> int:
    return int.from_bytes(value.to_bytes(4, 'little'), 'big')


def byte_order(message_length: int, data_length: Optional[int],
               max_payload: Optional[int]) -> str:
    """``' Does the peer use another byte order?'`` when the header read in
    the other byte order is a plausible frame (MessageLength of at least 8
    whose payload fits the limit, and DataLength + 8 equal to it when it
    was read); otherwise ''.  A byte-order mismatch turns a 5-byte payload
    into one of 218,103,800 bytes."""
    swapped = _swap(message_length)
    plausible = swapped >= 8 and \
        (max_payload is None or swapped - 8 <= max_payload) and \
        (data_length is None or _swap(data_length) + 8 == swapped)
    return ' ' + BYTE_ORDER_QUESTION if plausible else ''


def another_byte_order(option: str = 'byte order') -> str:
    """The byte-order question for a CLI (*option* '--byte-order')."""
    return f'does the peer use another {option}?'


def _is_descriptor(message_length: int, data_length: Optional[int]) -> bool:
    if data_length is not None:
        return message_length == (data_length + 8) ^ _SHARED_BIT
    return _SHARED_BIT <= message_length <= \
        _SHARED_BIT + 8 + _DESCRIPTOR + _SLACK


def is_shared_memory(message_length: int,
                     data_length: Optional[int]) -> bool:
    """Whether the header is a shared-memory descriptor frame's, in either
    byte order: MessageLength == (DataLength + 8) XOR 0x80000000, or,
    before DataLength was read, MessageLength just above 0x80000000."""
    return _is_descriptor(message_length, data_length) or _is_descriptor(
        _swap(message_length),
        None if data_length is None else _swap(data_length))


def shared_memory(message_length: int, data_length: Optional[int]) -> str:
    """``' The peer sends shared-memory frames ...'`` for a descriptor
    frame's header read without shared memory on; otherwise ''."""
    return ' ' + SHARED_MEMORY \
        if is_shared_memory(message_length, data_length) else ''


def cut_while_sending(detail: str) -> str:
    """A request whose server closed the connection before it took the
    whole frame (*detail*: what the OS said, e.g. 'Broken pipe')."""
    return (f'the server closed the connection before it read the whole '
            f'request ({detail}); {SERVER_CLOSES}')


def closed_unread(times: int) -> str:
    """An IPC send that timed out after peers took *times* connections
    but not the message."""
    return (f'a peer took the connection but not the message ({times} '
            f'{"time" if times == 1 else "times"}): another sender, or a '
            f'receiver that could not read the frame ({SERVER_CLOSES})')


def lost_before_answer(method: str, cause: object) -> str:
    """A call whose connection the peer closed before answering it."""
    return (f'connection lost before {method!r} was answered: {cause}; '
            f'{SERVER_CLOSES}')


def no_crc(option: str = 'CRC') -> str:
    """A frame whose CRC field is 0 read with CRC on (*option*: '--crc' in
    the CLIs)."""
    return (f'the frame carries no CRC (field 0): use {option} on both '
            f'sides, or on neither')


def other_encoding(other: str) -> str:
    """Text that does not decode: the encoding to try (CLIs)."""
    return f'try --encoding {other} (both sides must use the same)'
