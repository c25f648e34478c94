"""The type model: one node per Python type hint, built once per service.

A node knows its JSON Schema, how to check and convert a JSON value into the
Python value the method expects (``load``) and a Python value back into JSON
(``dump``).  A mismatch raises :class:`Mismatch`; containers add their
segment to its path while it unwinds, so a call that fits costs no
path-building."""

from __future__ import annotations

import base64
import binascii
import enum
from typing import (Callable, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Union)

__all__ = ['Mismatch', 'Node', 'Prim', 'Bytes', 'ListOf', 'DictOf', 'AnyOf',
           'Choice', 'Schema', 'short']

#: A JSON Schema (or an OpenRPC fragment) as a JSON object.
Schema = Dict[str, object]


class Mismatch(Exception):
    """A value that does not fit: ``expected`` says what would have."""

    def __init__(self, expected: str, got: object, detail: str = '') -> None:
        super().__init__(expected)
        self.expected = expected
        self.got = got
        self.detail = detail
        self.path: List[str] = []

    def at(self, segment: str) -> Mismatch:
        self.path.insert(0, segment)
        return self


def short(value: object) -> str:
    """``str 'x'``: a value's JSON kind and its start, for messages."""
    kind = {type(None): 'null', bool: 'boolean', int: 'integer',
            float: 'number', str: 'string', list: 'array',
            dict: 'object'}.get(type(value), type(value).__name__)
    text = repr(value)
    return f'{kind} {text if len(text) <= 40 else text[:37] + "..."}'


class Node:
    """Base: a type on the wire."""

    #: The name in components/schemas for named types (Record, Choice).
    name: Optional[str] = None

    def schema(self) -> Schema:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def load(self, value: object) -> object:
        """*value* (as json.loads gives it) as the Python value."""
        raise NotImplementedError

    def dump(self, value: object) -> object:
        """Python *value* as a JSON value (json.dumps-able)."""
        raise NotImplementedError


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_PRIMS: Dict[str, Tuple[str, Callable[[object], bool]]] = {
    'integer': ('an integer', _is_int),
    'number': ('a number', lambda v: isinstance(v, (int, float))
               and not isinstance(v, bool)),
    'string': ('a string', lambda v: isinstance(v, str)),
    'boolean': ('true or false', lambda v: isinstance(v, bool)),
    'null': ('null', lambda v: v is None),
}


class Prim(Node):
    """integer, number, string, boolean, null.  A number may be an integer
    and stays one (PEP 484's numeric tower: int is acceptable as float), so
    ``add(2, 3)`` with float hints still answers ``5``, as before."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._text, self._fits = _PRIMS[kind]

    def schema(self) -> Schema:
        return {'type': self.kind}

    def describe(self) -> str:
        return self._text

    def load(self, value: object) -> object:
        if not self._fits(value):
            raise Mismatch(self._text, value)
        return value

    def dump(self, value: object) -> object:
        if not self._fits(value):
            raise Mismatch(self._text, value)
        return int(value) if self.kind == 'integer' else value  # type: ignore


class Bytes(Node):
    """bytes as a base64 string (what System.Text.Json does with byte[])."""

    def schema(self) -> Schema:
        return {'type': 'string', 'contentEncoding': 'base64'}

    def describe(self) -> str:
        return 'a base64 string'

    def load(self, value: object) -> object:
        if not isinstance(value, str):
            raise Mismatch(self.describe(), value)
        try:
            return base64.b64decode(value.encode('ascii'), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise Mismatch(self.describe(), value) from None

    def dump(self, value: object) -> object:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise Mismatch('bytes', value)
        return base64.b64encode(bytes(value)).decode('ascii')


class ListOf(Node):
    """list[T] (or tuple[T, ...], loaded as a tuple)."""

    def __init__(self, item: Node, as_tuple: bool = False) -> None:
        self.item = item
        self.as_tuple = as_tuple

    def schema(self) -> Schema:
        return {'type': 'array', 'items': self.item.schema()}

    def describe(self) -> str:
        return 'an array'

    def _each(self, value: Sequence[object],
              step: Callable[[object], object]) -> List[object]:
        out = []
        for i, item in enumerate(value):
            try:
                out.append(step(item))
            except Mismatch as exc:
                raise exc.at(f'[{i}]') from None
        return out

    def load(self, value: object) -> object:
        if not isinstance(value, list):
            raise Mismatch(self.describe(), value)
        out = self._each(value, self.item.load)
        return tuple(out) if self.as_tuple else out

    def dump(self, value: object) -> object:
        if not isinstance(value, (list, tuple)):
            raise Mismatch(self.describe(), value)
        return self._each(value, self.item.dump)


class DictOf(Node):
    """dict[str, T]: a JSON object with any member names."""

    def __init__(self, value: Node) -> None:
        self.value = value

    def schema(self) -> Schema:
        return {'type': 'object', 'additionalProperties': self.value.schema()}

    def describe(self) -> str:
        return 'an object'

    def _each(self, value: Mapping[object, object],
              step: Callable[[object], object]) -> Dict[str, object]:
        out: Dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise Mismatch('an object with string keys', value)
            try:
                out[key] = step(item)
            except Mismatch as exc:
                raise exc.at(f'.{key}') from None
        return out

    def load(self, value: object) -> object:
        if not isinstance(value, dict):
            raise Mismatch(self.describe(), value)
        return self._each(value, self.value.load)

    def dump(self, value: object) -> object:
        if not isinstance(value, Mapping):
            raise Mismatch(self.describe(), value)
        return self._each(value, self.value.dump)


class AnyOf(Node):
    """Union[...] / Optional[...]: the first option that fits wins."""

    def __init__(self, options: Sequence[Node]) -> None:
        self.options = list(options)

    def schema(self) -> Schema:
        # As .NET writes them (docs/rpc.md 8.3): T-or-null as a type list
        # when T has one type and no $ref, else anyOf; null always last.
        null: Schema = {'type': 'null'}
        parts = [o.schema() for o in self.options]
        real = [p for p in parts if p != null]
        tail = ['null'] if len(real) < len(parts) else []
        if len(real) == 1 and tail and isinstance(real[0].get('type'), str) \
                and '$ref' not in real[0] and 'anyOf' not in real[0]:
            one = dict(real[0], type=[real[0]['type'], 'null'])
            values = one.get('enum')
            if isinstance(values, list):
                one['enum'] = values + [None]       # null is valid too
            return one
        if all(set(p) == {'type'} and isinstance(p['type'], str)
               for p in real):
            return {'type': [p['type'] for p in real] + tail}
        return {'anyOf': real + ([null] if tail else [])}

    def describe(self) -> str:
        return ' or '.join(o.describe() for o in self.options)

    def _first(self, value: object, pick: Callable[[Node], Callable[
            [object], object]]) -> object:
        deepest: Optional[Mismatch] = None
        for option in self.options:
            try:
                return pick(option)(value)
            except Mismatch as exc:
                if exc.path and (deepest is None or
                                 len(exc.path) > len(deepest.path)):
                    deepest = exc
        if deepest is not None:       # an object that nearly fitted
            raise deepest
        raise Mismatch(self.describe(), value)

    def load(self, value: object) -> object:
        return self._first(value, lambda o: o.load)

    def dump(self, value: object) -> object:
        return self._first(value, lambda o: o.dump)


class Choice(Node):
    """One of fixed values, inline (docs/rpc.md 8.3: only objects are in
    components): a Literal (its values), or an Enum class, whose members
    travel as their values when all are strings and otherwise as their
    camelCase names (``Level.HIGH`` -> ``"high"``), as .NET's enums do."""

    def __init__(self, wire: Sequence[Union[str, int]],
                 python: Optional[Sequence[object]] = None) -> None:
        self.values = list(wire)
        self.python: List[object] = list(python if python is not None
                                         else self.values)
        self.kind = 'string' if all(isinstance(v, str) for v in
                                    self.values) else 'integer'

    def schema(self) -> Schema:
        return {'type': self.kind, 'enum': list(self.values)}

    def describe(self) -> str:
        return 'one of ' + ', '.join(repr(v) for v in self.values)

    def _index(self, value: object, among: Sequence[object]) -> int:
        for i, v in enumerate(among):
            if type(v) is type(value) and v == value:
                return i
        raise Mismatch(self.describe(), value)

    def load(self, value: object) -> object:
        return self.python[self._index(value, self.values)]

    def dump(self, value: object) -> object:
        if isinstance(value, enum.Enum):
            return self.values[self._index(value, self.python)]
        return self.values[self._index(value, self.values)]
