"""What both stub generators (python.py, csharp.py) read from an OpenRPC
document: each schema classified as one of a few type shapes, named object
and enum types (components/schemas, plus inline objects given a name from
where they appear), and the header every generated file starts with."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Dict, List, Mapping, Optional, Set, Tuple

from .errors import ContractError
from .names import pascal, snake

__all__ = ['Shape', 'Model', 'header_lines', 'properties', 'listed']

_REF = '#/components/schemas/'


class Shape:
    """kind: 'integer' 'number' 'string' 'boolean' 'null' 'bytes' 'array'
    'map' 'ref' 'nullable' 'literal' 'union' 'any'; ``inner`` for array,
    map, nullable; ``name`` for ref (and 'int32' for an integer of that
    format); ``values`` for literal; ``options`` for
    union."""

    def __init__(self, kind: str, inner: Optional[Shape] = None,
                 name: str = '', values: Optional[List[object]] = None,
                 options: Optional[List[Shape]] = None) -> None:
        self.kind, self.inner, self.name = kind, inner, name
        self.values = values or []
        self.options = options or []


class Model:
    """The named types of a document: ``records`` (name -> object schema)
    and ``enums`` (name -> enum schema), sorted by name; inline object
    schemas are hoisted under a name made from their place."""

    def __init__(self, doc: Mapping[str, object]) -> None:
        self.doc = dict(doc)
        comps = doc.get('components')
        schemas = comps.get('schemas', {}) if isinstance(comps, dict) else {}
        self.named: Dict[str, Dict[str, object]] = dict(
            schemas) if isinstance(schemas, dict) else {}
        self._hoisted: Dict[str, str] = {}     # canonical JSON -> name

    def shape(self, schema: object, hint: str) -> Shape:
        """The shape of *schema*; *hint* names an inline object type."""
        if schema is True or schema == {}:
            return Shape('any')
        if not isinstance(schema, dict):
            return Shape('any')
        ref = schema.get('$ref')
        if isinstance(ref, str):
            if not ref.startswith(_REF) or ref[len(_REF):] not in self.named:
                raise ContractError(f'{hint}: $ref {ref!r} is not in '
                                    f'components/schemas')
            return Shape('ref', name=ref[len(_REF):])
        options = schema.get('anyOf', schema.get('oneOf'))
        if isinstance(options, list):
            return self._union([self.shape(o, hint) for o in options])
        kind = schema.get('type')
        if isinstance(kind, list):
            parts = [self.shape(dict(schema, type=k), hint) for k in kind]
            return self._union(parts)
        if 'enum' in schema and isinstance(schema['enum'], list):
            values = [v for v in schema['enum'] if v is not None]
            lit = Shape('literal', values=values)
            return Shape('nullable', lit) if None in schema['enum'] else lit
        if kind == 'string' and schema.get('contentEncoding') == 'base64':
            return Shape('bytes')
        if kind == 'integer' and schema.get('format') == 'int32':
            return Shape('integer', name='int32')
        if kind in ('integer', 'number', 'string', 'boolean', 'null'):
            return Shape(str(kind))
        if kind == 'array':
            return Shape('array', self.shape(schema.get('items', True),
                                             hint + 'Item'))
        if kind == 'object' or 'properties' in schema:
            if schema.get('properties'):
                return Shape('ref', name=self._hoist(schema, hint))
            extra = schema.get('additionalProperties', True)
            return Shape('map', self.shape(extra, hint + 'Value'))
        return Shape('any')

    def _union(self, parts: List[Shape]) -> Shape:
        real = [p for p in parts if p.kind != 'null']
        if not real:
            return Shape('null')
        core = real[0] if len(real) == 1 else Shape('union', options=real)
        return Shape('nullable', core) if len(real) < len(parts) else core

    def _hoist(self, schema: Dict[str, object], hint: str) -> str:
        key = json.dumps(schema, sort_keys=True)
        if key in self._hoisted:
            return self._hoisted[key]
        name = pascal(snake(hint)) or 'Anonymous'
        while name in self.named:
            name += '_'
        self.named[name] = schema
        self._hoisted[key] = name
        return name

    def methods(self) -> List[Dict[str, object]]:
        methods = self.doc.get('methods')
        if not isinstance(methods, list):
            raise ContractError('the document has no methods array')
        return [m for m in methods if isinstance(m, dict)]

    def params(self, method: Dict[str, object]
               ) -> List[Tuple[str, Shape, bool]]:
        """``[(wire name, shape, required)]`` of *method*."""
        out = []
        mname = str(method.get('name'))
        for p in listed(method, 'params'):
            if not isinstance(p, dict) or '$ref' in p:
                raise ContractError(f'method {mname!r}: a parameter that is '
                                    f'not an inline content descriptor')
            wire = str(p.get('name'))
            out.append((wire, self.shape(p.get('schema', True),
                                         f'{mname}_{wire}'),
                        p.get('required') is True))
        return out

    def result(self, method: Dict[str, object]) -> Shape:
        result = method.get('result')
        if not isinstance(result, dict):
            return Shape('null')
        return self.shape(result.get('schema', True),
                          f'{method.get("name")}_result')

    def records(self) -> List[Tuple[str, Dict[str, object]]]:
        """Named types, sorted; call after every method's shapes (inline
        objects found there are added, and this may add more)."""
        done: Dict[str, Dict[str, object]] = {}
        while len(done) < len(self.named):
            for name in sorted(set(self.named) - set(done)):
                schema = self.named[name]
                done[name] = schema
                for prop, sub in properties(schema)[0].items():
                    self.shape(sub, f'{name}_{prop}')
        return sorted(done.items())


def listed(obj: Dict[str, object], key: str) -> List[object]:
    """``obj[key]`` if it is a list, else []."""
    value = obj.get(key)
    return value if isinstance(value, list) else []


def properties(schema: Dict[str, object]
               ) -> Tuple[Dict[str, object], Set[object]]:
    """An object schema's ``properties`` and its ``required`` names."""
    props = schema.get('properties')
    return (dict(props) if isinstance(props, dict) else {},
            set(listed(schema, 'required')))


def header_lines(doc: Mapping[str, object], source: str, tool: str
                 ) -> List[str]:
    """What a generated file says about where it came from (no time stamp:
    the same document gives the same bytes)."""
    info = doc.get('info')
    info = info if isinstance(info, dict) else {}
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode(
        'utf-8')).hexdigest()[:16]
    clean = re.sub(r'[\r\n]+', ' ', source)
    return [f'Generated by {tool} from {clean}',
            f'(OpenRPC {doc.get("openrpc")}, "{info.get("title")}" version '
            f'{info.get("version")}, document sha256 {digest}).',
            'Do not edit: regenerate it from the service instead.']
