"""Generates a typed Python client module from an OpenRPC document: a
``typing.Protocol`` with the methods (and its ``async def`` twin, for
npipes.aio), dataclasses for object schemas and Enums for named enums.
Deterministic: the same document gives the same text, byte for byte.

Python names are snake_case (``firstName`` -> ``first_name``); where the
member convention (camelCase) would not lead back to the wire name the
generated code says so (``wire_name(...)`` on a method,
``field(metadata={WIRE_NAME: ...})`` on a member)."""

from __future__ import annotations

import keyword
import re
from typing import Dict, List, Mapping, Set

from .errors import ContractError
from .names import camel, pascal, snake
from .stubmodel import Model, Shape, header_lines, listed, properties

__all__ = ['python_stubs']

_TAKEN = {'Dict', 'List', 'Literal', 'Optional', 'Protocol', 'Union',
          'dataclass', 'field', 'enum', 'wire_name', 'WIRE_NAME',
          'OMIT_NONE', 'annotations'}
_PRIMS = {'integer': 'int', 'number': 'float', 'string': 'str',
          'boolean': 'bool', 'null': 'None', 'bytes': 'bytes'}


def _ident(text: str) -> str:
    out = re.sub(r'\W', '_', text) or '_'
    out = '_' + out if out[0].isdigit() else out
    return out + '_' if keyword.iskeyword(out) or out in _TAKEN else out


class _Writer:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.classes = {n: _ident(n) for n in model.named}

    def type(self, shape: Shape, where: str) -> str:
        kind = shape.kind
        if kind in _PRIMS:
            return _PRIMS[kind]
        if kind == 'array' and shape.inner:
            return f'List[{self.type(shape.inner, where)}]'
        if kind == 'map' and shape.inner:
            return f'Dict[str, {self.type(shape.inner, where)}]'
        if kind == 'nullable' and shape.inner:
            return f'Optional[{self.type(shape.inner, where)}]'
        if kind == 'ref':
            if shape.name not in self.classes:
                self.classes[shape.name] = _ident(shape.name)
            return self.classes[shape.name]
        if kind == 'literal' and shape.values:
            return 'Literal[' + ', '.join(repr(v) for v in shape.values) + ']'
        if kind == 'union':
            return 'Union[' + ', '.join(self.type(o, where)
                                        for o in shape.options) + ']'
        raise ContractError(f'{where}: a schema with no Python type (any '
                            f'JSON value); npipes stubs need typed schemas')

    def method(self, method: Dict[str, object], is_async: bool
               ) -> List[str]:
        wire = str(method.get('name'))
        where = f'method {wire!r}'
        py = _ident(snake(wire))
        args, used = ['self'], {'self'}
        for pwire, shape, required in self.model.params(method):
            name = _unique(_ident(snake(pwire)), used)
            text = self.type(shape, f'{where}, parameter {pwire!r}')
            args.append(f'{name}: {text}' if required
                        else f'{name}: {text} = ...')
        result = self.type(self.model.result(method), f'{where}, result')
        lines = [] if py == wire else [f'    @wire_name({wire!r})']
        head = 'async def' if is_async else 'def'
        sig = f'    {head} {py}({", ".join(args)}) -> {result}:'
        lines += _wrap(sig)
        doc = method.get('description') or method.get('summary')
        if isinstance(doc, str) and doc:
            lines.append(f'        {_docstring(doc)}')
        lines.append('        ...')
        return lines

    def record(self, name: str, schema: Dict[str, object]) -> List[str]:
        cls = self.classes.setdefault(name, _ident(name))
        if 'enum' in schema:
            return self.enum(cls, schema)
        props, required = properties(schema)
        first: List[str] = []
        later: List[str] = []
        used: Set[str] = set()
        for wire, sub in props.items():
            py = _unique(_ident(snake(wire)), used)
            shape = self.model.shape(sub, f'{name}_{wire}')
            text = self.type(shape, f'member {wire!r} of {name}')
            meta = '' if camel(py) == wire else f'WIRE_NAME: {wire!r}'
            if wire in required:
                first.append(f'    {py}: {text}' + (
                    f' = field(metadata={{{meta}}})' if meta else ''))
                continue
            nullable = shape.kind in ('nullable', 'null')
            if not nullable:
                text = f'Optional[{text}]'
                meta = ', '.join(filter(None, [meta, 'OMIT_NONE: True']))
            later.append(f'    {py}: {text} = ' + (
                f'field(default=None, metadata={{{meta}}})' if meta
                else 'None'))
        body = first + later or ['    pass']
        return ['@dataclass', f'class {cls}:'] + self.doc(schema) + body

    def enum(self, cls: str, schema: Dict[str, object]) -> List[str]:
        lines = [f'class {cls}(enum.Enum):'] + self.doc(schema)
        used: Set[str] = set()
        for value in listed(schema, 'enum'):
            if value is None:
                continue
            base = snake(str(value)).upper().strip('_') if isinstance(
                value, str) else f'V{value}'.replace('-', 'MINUS_')
            lines.append(f'    {_unique(_ident(base or "EMPTY"), used)} = '
                         f'{value!r}')
        return lines

    @staticmethod
    def doc(schema: Dict[str, object]) -> List[str]:
        text = schema.get('description')
        return [f'    {_docstring(text)}'] if isinstance(text, str) and \
            text else []


def _unique(name: str, used: Set[str]) -> str:
    out, n = name, 2
    while out in used:
        out, n = f'{name}_{n}', n + 1
    used.add(out)
    return out


def _docstring(text: str) -> str:
    clean = ' '.join(text.replace('\\', '\\\\').replace('"""', "'''"
                                                          ).split())
    return f'"""{clean}"""'


def _wrap(line: str) -> List[str]:
    if len(line) <= 79 or '(' not in line:
        return [line]
    head, rest = line.split('(', 1)
    args, tail = rest.rsplit(')', 1)
    return [f'{head}('] + [f'            {a.strip()},' for a in
                           _split_args(args)] + [f'    ){tail}']


def _split_args(text: str) -> List[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in '[(' and 1 or (ch in '])' and -1 or 0)
        if ch == ',' and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def python_stubs(doc: Mapping[str, object], *, source: str = 'a document',
                 name: str = '') -> str:
    """A Python module for calling the service *doc* describes: Protocol
    *name* (default: the title in PascalCase) and ``<name>Async``, with
    ``client.proxy(Name)`` / ``aio`` ``client.proxy(NameAsync)``.
    ContractError if a schema has no Python type."""
    model = Model(doc)
    info = doc.get('info')
    title = info.get('title') if isinstance(info, dict) else None
    proto = _ident(name or pascal(snake(str(title or 'Service'))))
    writer = _Writer(model)
    methods = model.methods()
    sync = [writer.method(m, False) for m in methods]
    async_ = [writer.method(m, True) for m in methods]
    out = ['# ' + line for line in header_lines(doc, source,
                                                'npipes.contract.python_stubs')]
    out += [f'"""Typed client for {title!r}: ``client.proxy({proto})``, or '
            f'``client.proxy({proto}Async)`` with npipes.aio."""', '',
            'from __future__ import annotations', '', 'import enum',
            'from dataclasses import dataclass, field',
            'from typing import Dict, List, Literal, Optional, Protocol, '
            'Union', '',
            'from npipes.contract import OMIT_NONE, WIRE_NAME, wire_name',
            '', '__all__ = [' + ', '.join(repr(x) for x in [proto,
                                                            proto + 'Async'])
            + ']']
    for cname, schema in model.records():
        if isinstance(schema, dict):
            out += ['', ''] + writer.record(cname, schema)
    for cls, bodies in ((proto, sync), (proto + 'Async', async_)):
        out += ['', '', f'class {cls}(Protocol):',
                f'    """The methods of {title!r}'
                f'{" (asyncio)" if cls.endswith("Async") else ""}."""']
        for body in bodies:
            out += [''] + body
    return '\n'.join(out) + '\n'
