"""The hint a frame error carries when the two sides likely disagree on a
setting, written once here (.NET: src/NPipes/Errors/MismatchHint.cs, the
same rule and words)."""

from __future__ import annotations

from typing import Optional

__all__ = ['BYTE_ORDER_QUESTION', 'byte_order']

BYTE_ORDER_QUESTION = 'Does the peer use another byte order?'


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
