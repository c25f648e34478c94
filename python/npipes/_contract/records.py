"""Records: dataclasses and TypedDicts as JSON objects with known members
(the one node kind with named members; see nodes.py for the others)."""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping

from .nodes import Mismatch, Node, Schema

__all__ = ['Field', 'Record']


class Field:
    """One member of a Record: its Python and wire names and type."""

    __slots__ = ('py', 'wire', 'node', 'required', 'omit_none')

    def __init__(self, py: str, wire: str, node: Node, required: bool,
                 omit_none: bool = False) -> None:
        self.py, self.wire, self.node = py, wire, node
        self.required, self.omit_none = required, omit_none


class Record(Node):
    """A dataclass or TypedDict: a JSON object with known members, named in
    components/schemas.  Unknown members and missing required ones are
    mismatches, never dropped or defaulted.  ``fields`` is filled after
    construction, so that a type may refer to itself."""

    def __init__(self, cls: type, is_dict: bool) -> None:
        self.cls = cls
        self.name = cls.__name__
        self.is_dict = is_dict
        self.fields: List[Field] = []
        self._by_wire: Dict[str, Field] = {}

    def set_fields(self, fields: List[Field]) -> None:
        self.fields = fields
        self._by_wire = {f.wire: f for f in fields}

    def definition(self) -> Schema:
        out: Schema = {'type': 'object', 'properties': {
            f.wire: f.node.schema() for f in self.fields}}
        required = [f.wire for f in self.fields if f.required]
        if required:
            out['required'] = required
        out['additionalProperties'] = False
        return out

    def schema(self) -> Schema:
        return {'$ref': f'#/components/schemas/{self.name}'}

    def describe(self) -> str:
        return f'an object ({self.name})'

    def load(self, value: object) -> object:
        if not isinstance(value, dict):
            raise Mismatch(self.describe(), value)
        kwargs: Dict[str, object] = {}
        for key, item in value.items():
            field = self._by_wire.get(key)
            if field is None:
                known = ', '.join(repr(f.wire) for f in self.fields)
                raise Mismatch(f'a member of {self.name} ({known})', item,
                               'unknown member').at(f'.{key}')
            try:
                kwargs[field.py] = field.node.load(item)
            except Mismatch as exc:
                raise exc.at(f'.{key}') from None
        for field in self.fields:
            if field.required and field.py not in kwargs:
                raise Mismatch(field.node.describe(), None,
                               f'required member of {self.name} is '
                               f'missing').at(f'.{field.wire}')
        try:
            return self.cls(**kwargs)
        except (TypeError, ValueError) as exc:     # __post_init__ checks
            raise Mismatch(self.describe(), value, str(exc)) from None

    def dump(self, value: object) -> object:
        if self.is_dict:
            if not isinstance(value, Mapping):
                raise Mismatch(self.describe(), value)
            extra = set(value) - {f.py for f in self.fields}
            if extra:
                raise Mismatch(f'a member of {self.name}', value,
                               'unknown member').at(f'.{sorted(extra)[0]}')
            get: Callable[[str, object], object] = value.get
        else:
            if not isinstance(value, self.cls):
                raise Mismatch(self.describe(), value)
            obj = value
            get = lambda key, default: getattr(obj, key, default)  # noqa
        out: Dict[str, object] = {}
        for field in self.fields:
            item = get(field.py, _MISSING)
            if item is _MISSING or (item is None and field.omit_none):
                if field.required:
                    raise Mismatch(field.node.describe(), None, 'missing'
                                   ).at(f'.{field.wire}')
                continue
            try:
                out[field.wire] = field.node.dump(item)
            except Mismatch as exc:
                raise exc.at(f'.{field.wire}') from None
        return out


_MISSING = object()
