"""Generates a C# interface (for StreamJsonRpc's ``Attach<T>()``) and
records from an OpenRPC document.  Deterministic, like python.py.

Every method carries ``[JsonRpcMethod("wire name")]`` and every record
member ``[JsonPropertyName("wire name")]``, so the C# names (PascalCase)
never decide what goes on the wire.  A method with optional parameters gets
one overload per count of trailing optional ones, so an omitted parameter is
omitted, not sent as null.  What has no C# type (a union of several types,
any JSON) is ``JsonElement``."""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Set, Tuple

from .names import camel, pascal, snake
from .stubmodel import Model, Shape, header_lines, listed, properties

__all__ = ['csharp_stubs']

_KEYWORDS = set('''abstract as base bool break byte case catch char checked
class const continue decimal default delegate do double else enum event
explicit extern false finally fixed float for foreach goto if implicit in int
interface internal is lock long namespace new null object operator out
override params private protected public readonly ref return sbyte sealed
short sizeof stackalloc static string struct switch this throw true try
typeof uint ulong unchecked unsafe ushort using virtual void volatile
while'''.split())
_PRIMS = {'integer': 'long', 'number': 'double', 'string': 'string',
          'boolean': 'bool', 'null': 'object', 'bytes': 'byte[]',
          'any': 'JsonElement', 'union': 'JsonElement'}


def _ident(text: str) -> str:
    out = re.sub(r'\W', '_', text) or '_'
    out = '_' + out if out[0].isdigit() else out
    return '@' + out if out in _KEYWORDS else out


def _str(text: str) -> str:
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


class _Writer:
    def __init__(self, model: Model) -> None:
        self.model = model

    def type(self, shape: Shape) -> str:
        kind = shape.kind
        if kind == 'array' and shape.inner:
            return f'IReadOnlyList<{self.type(shape.inner)}>'
        if kind == 'map' and shape.inner:
            return f'IReadOnlyDictionary<string, {self.type(shape.inner)}>'
        if kind == 'nullable' and shape.inner:
            inner = self.type(shape.inner)
            return inner if inner.endswith('?') else inner + '?'
        if kind == 'ref':
            return _ident(pascal(shape.name))
        if kind == 'integer' and shape.name == 'int32':
            return 'int'
        if kind == 'literal':
            return 'string' if all(isinstance(v, str) for v in
                                   shape.values) else 'long'
        return _PRIMS.get(kind, 'JsonElement')

    def method(self, method: Dict[str, object], used: Set[str]
               ) -> List[str]:
        wire = str(method.get('name'))
        name = _ident(pascal(snake(wire)) + 'Async')
        while name in used:
            name += '_'
        used.add(name)
        params: List[Tuple[str, str, bool]] = []
        pnames: Set[str] = {'cancellationToken'}
        for pwire, shape, required in self.model.params(method):
            pname = _ident(camel(snake(pwire)))
            while pname in pnames:
                pname += '_'
            pnames.add(pname)
            params.append((pname, self.type(shape), required))
        result = self.model.result(method)
        task = 'Task' if result.kind == 'null' else \
            f'Task<{self.type(result)}>'
        needed = [p for p in params if p[2]]
        cut = len(needed) if params[:len(needed)] == needed else len(params)
        lines: List[str] = []
        doc = method.get('description') or method.get('summary')
        for count in range(cut, len(params) + 1):
            args = [f'{t} {n}' for n, t, _ in params[:count]]
            args.append('CancellationToken cancellationToken = default')
            if lines:
                lines.append('')
            if isinstance(doc, str) and doc:
                lines.append(f'    /// <summary>{_xml(doc)}</summary>')
            lines += [f'    [JsonRpcMethod({_str(wire)})]',
                      f'    {task} {name}({", ".join(args)});']
        return lines

    def record(self, name: str, schema: Dict[str, object]) -> List[str]:
        cls = _ident(pascal(name))
        doc = schema.get('description')
        lines = [f'/// <summary>{_xml(doc)}</summary>'] if isinstance(
            doc, str) and doc else []
        if 'enum' in schema:
            return lines + self.enum(cls, schema)
        props, required = properties(schema)
        first: List[str] = []
        later: List[str] = []
        used: Set[str] = set()
        for wire, sub in props.items():
            member = _ident(pascal(snake(wire)))
            while member in used or member == cls:
                member += '_'
            used.add(member)
            text = self.type(self.model.shape(sub, f'{name}_{wire}'))
            attr = f'[property: JsonPropertyName({_str(wire)})'
            if wire in required:
                first.append(f'    {attr}] {text} {member}')
            else:
                opt = text if text.endswith('?') else text + '?'
                # (the condition named in full: an object type of the
                # contract may be named JsonIgnoreCondition)
                later.append(f'    {attr}, JsonIgnore(Condition = global::'
                             f'System.Text.Json.Serialization.'
                             f'JsonIgnoreCondition.WhenWritingNull)] '
                             f'{opt} {member} = null')
        members = first + later
        if not members:
            return lines + [f'public sealed record {cls}();']
        return lines + [f'public sealed record {cls}('] + [
            m + (',' if i < len(members) - 1 else ');')
            for i, m in enumerate(members)]

    def enum(self, cls: str, schema: Dict[str, object]) -> List[str]:
        values = [v for v in listed(schema, 'enum') if v is not None]
        used: Set[str] = set()
        if all(isinstance(v, str) for v in values):
            lines = [f'[JsonConverter(typeof(JsonStringEnumConverter<{cls}>)'
                     f')]', f'public enum {cls}', '{']
            for v in values:
                member = _ident(pascal(snake(str(v))) or 'Empty')
                while member in used:
                    member += '_'
                used.add(member)
                lines.append(f'    [JsonStringEnumMemberName({_str(str(v))})'
                             f'] {member},')
            return lines + ['}']
        lines = [f'public enum {cls} : long', '{']
        for v in values:
            lines.append(f'    Value{str(v).replace("-", "Minus")} = {v},')
        return lines + ['}']


def _xml(text: object) -> str:
    return ' '.join(str(text).replace('&', '&amp;').replace(
        '<', '&lt;').replace('>', '&gt;').split())


def csharp_stubs(doc: Mapping[str, object], *, source: str = 'a document',
                 namespace: str = 'NPipes.Generated', name: str = '') -> str:
    """C# source for calling the service *doc* describes: interface
    ``I<name>`` (default: the title in PascalCase) for ``Attach<T>()``,
    records for object schemas, enums for named enums."""
    model = Model(doc)
    info = doc.get('info')
    title = info.get('title') if isinstance(info, dict) else None
    iface = 'I' + _ident(name or pascal(snake(str(title or 'Service'))))
    writer = _Writer(model)
    used: Set[str] = set()
    bodies = [writer.method(m, used) for m in model.methods()]
    out = ['// <auto-generated>'] + ['// ' + line for line in header_lines(
        doc, source, 'npipes.contract.csharp_stubs')] + [
        '// </auto-generated>', '#nullable enable', '',
        'using System.Collections.Generic;', 'using System.Text.Json;',
        'using System.Text.Json.Serialization;', 'using System.Threading;',
        'using System.Threading.Tasks;', 'using StreamJsonRpc;', '',
        f'namespace {namespace};', '',
        f'/// <summary>The methods of {_xml(title)}.</summary>',
        f'public interface {iface}', '{']
    for i, body in enumerate(bodies):
        out += ([''] if i else []) + body
    out.append('}')
    for cname, schema in model.records():
        if isinstance(schema, dict):
            out += [''] + writer.record(cname, schema)
    return '\n'.join(out) + '\n'
