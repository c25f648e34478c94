"""Type hints -> nodes (nodes.py), with every named type (dataclass,
TypedDict, Enum) collected once for components/schemas.

What has no faithful JSON Schema is refused with a ContractError naming the
method and parameter, never guessed: Any, object, a bare list or dict,
callables, type variables, sets, fixed-length tuples (System.Text.Json
writes a ValueTuple as ``{}``, so they would not round-trip with .NET),
dict keys other than str, and enums mixing strings and integers."""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import typing
from typing import Dict, List, Optional, Union

from .errors import ContractError
from .names import OMIT_NONE, WIRE_NAME, NameTransform
from .nodes import AnyOf, Bytes, Choice, DictOf, ListOf, Node, Prim
from .records import Field, Record

__all__ = ['Resolver', 'Unsupported', 'type_hints']

_SIMPLE: Dict[object, Node] = {
    bool: Prim('boolean'), int: Prim('integer'), float: Prim('number'),
    str: Prim('string'), bytes: Bytes(), type(None): Prim('null'),
    None: Prim('null')}
_LISTS = (list, collections.abc.Sequence, collections.abc.MutableSequence)
_DICTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
_UNION_TYPE = getattr(__import__('types'), 'UnionType', None)   # X | Y
_ANNOTATED = getattr(typing, 'Annotated', None)


class Unsupported(Exception):
    """A hint with no JSON Schema; the Resolver's caller names the place."""


def type_hints(obj: object) -> Dict[str, object]:
    """typing.get_type_hints, its errors as Unsupported."""
    try:
        return typing.get_type_hints(obj)
    except Exception as exc:  # NameError, TypeError from a bad annotation
        raise Unsupported(f'its type hints cannot be read: '
                          f'{type(exc).__name__}: {exc}') from None


def _is_typeddict(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and \
        hasattr(tp, '__total__') and hasattr(tp, '__annotations__')


def _name(hint: object) -> str:
    return getattr(hint, '__qualname__', None) or repr(hint)


class Resolver:
    """Builds nodes for one service; ``records`` and ``choices`` hold its
    named types, so components/schemas lists each once."""

    def __init__(self, members: NameTransform) -> None:
        self.members = members
        self.named: Dict[str, Record] = {}

    def node(self, hint: object) -> Node:
        """The node for *hint*; Unsupported if it has none."""
        simple = _SIMPLE.get(hint) if _hashable(hint) else None
        if simple is not None:
            return simple
        if hint is typing.Any or hint is object:
            raise Unsupported(f'{hint!r} says nothing about the JSON value: '
                              f'give a concrete type')
        supertype = getattr(hint, '__supertype__', None)       # NewType
        if supertype is not None:
            return self.node(supertype)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is not None:
            return self._generic(hint, origin, args)
        if isinstance(hint, type):
            if issubclass(hint, enum.Enum):
                return self._choice(hint)
            if dataclasses.is_dataclass(hint):
                return self._named(hint, self._record)
            if _is_typeddict(hint):
                return self._named(hint, self._record)
            if hint in _LISTS or hint in _DICTS or hint is tuple:
                raise Unsupported(f'{_name(hint)} without an item type: '
                                  f'say what it holds, e.g. List[int]')
        raise Unsupported(f'{_name(hint)} has no JSON Schema (supported: '
                          f'int, float, str, bool, bytes, None, List, Dict'
                          f'[str, ...], Optional/Union, Literal, '
                          f'dataclasses, TypedDict, Enum)')

    def _generic(self, hint: object, origin: object,
                 args: typing.Tuple[object, ...]) -> Node:
        if origin is Union or (_UNION_TYPE is not None and
                               origin is _UNION_TYPE):
            return AnyOf([self.node(a) for a in args])
        if origin is typing.Literal:
            if not args or not all(isinstance(a, str) for a in args) and \
                    not all(type(a) is int for a in args):
                raise Unsupported(f'{hint!r}: a Literal of strings or of '
                                  f'integers only')
            return Choice(list(args))  # type: ignore[arg-type]
        if _ANNOTATED is not None and origin is _ANNOTATED:
            return self.node(args[0])
        if origin in _LISTS:
            return ListOf(self.node(args[0]))
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return ListOf(self.node(args[0]), as_tuple=True)
            raise Unsupported(f'{hint!r}: a fixed-length tuple does not '
                              f'round-trip with .NET; use Tuple[X, ...], '
                              f'List[X] or a dataclass')
        if origin in _DICTS:
            if args[0] is not str:
                raise Unsupported(f'{hint!r}: JSON object keys are strings; '
                                  f'use Dict[str, ...]')
            return DictOf(self.node(args[1]))
        raise Unsupported(f'{hint!r} has no JSON Schema')

    def _named(self, cls: type, make: typing.Callable[[type], Record]
               ) -> Node:
        known = self.named.get(cls.__name__)
        if known is not None:
            if known.cls is not cls:
                raise Unsupported(
                    f'two types are named {cls.__name__} on the wire '
                    f'({cls.__module__}.{cls.__qualname__} and '
                    f'{known.cls.__module__}.'
                    f'{known.cls.__qualname__}); rename one')
            return known
        return make(cls)

    def _choice(self, cls: type) -> Choice:
        members = list(typing.cast(typing.Iterable[enum.Enum], cls))
        if not members:
            raise Unsupported(f'enum {cls.__name__} has no members')
        if all(isinstance(m.value, str) for m in members):
            return Choice([m.value for m in members], members)
        return Choice([self.members(m.name) for m in members], members)

    def _record(self, cls: type) -> Record:
        is_dict = _is_typeddict(cls)
        record = Record(cls, is_dict)
        self.named[record.name or ''] = record      # before the fields:
        hints = type_hints(cls)                     # recursion ends here
        fields: List[Field] = []
        if is_dict:
            required = getattr(cls, '__required_keys__', None)
            if required is None:                    # Python 3.8
                required = set(hints) if getattr(cls, '__total__', True) \
                    else set()
            for py, hint in hints.items():
                fields.append(self._field(cls, py, hint, py in required,
                                          None, False))
        else:
            for dc in dataclasses.fields(cls):
                if not dc.init:
                    continue
                has_default = dc.default is not dataclasses.MISSING or \
                    dc.default_factory is not dataclasses.MISSING
                fields.append(self._field(
                    cls, dc.name, hints.get(dc.name), not has_default,
                    dc.metadata.get(WIRE_NAME), bool(dc.metadata.get(
                        OMIT_NONE))))
        seen: Dict[str, str] = {}
        for f in fields:
            if f.wire in seen:
                raise Unsupported(f'{cls.__name__}: members {seen[f.wire]!r}'
                                  f' and {f.py!r} are both {f.wire!r} on the'
                                  f' wire')
            seen[f.wire] = f.py
        record.set_fields(fields)
        return record

    def _field(self, cls: type, py: str, hint: object, required: bool,
               wire: Optional[str], omit_none: bool) -> Field:
        try:
            node = self.node(hint)
        except Unsupported as exc:
            raise Unsupported(f'member {py!r} of {cls.__name__}: {exc}'
                              ) from None
        return Field(py, wire or self.members(py), node, required, omit_none)


def _hashable(hint: object) -> bool:
    try:
        hash(hint)
    except TypeError:
        return False
    return True

