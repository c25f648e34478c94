"""The rules of the OpenRPC 1.x meta-schema that npipes documents rely on,
checked with the standard library (no validator dependency): the shape of
the document, its info, methods, content descriptors and errors, unique
names, required parameters before optional ones, JSON Schema ``type``
names, and every local ``$ref`` resolving.

``python3 -m npipes._contract.openrpc FILE.json`` prints the problems and
exits 1 if there are any (for the .NET tests)."""

from __future__ import annotations

import json
import re
import sys
from typing import Dict, List, Optional, Sequence

__all__ = ['check_document']

_VERSION = re.compile(r'^1\.\d+\.\d+$')
_COMPONENT = re.compile(r'^[a-zA-Z0-9.\-_]+$')
_TYPES = {'null', 'boolean', 'object', 'array', 'number', 'string',
          'integer'}
_KEYS = {
    '': {'openrpc', 'info', 'servers', 'methods', 'components',
         'externalDocs', '$schema'},
    'info': {'title', 'description', 'termsOfService', 'version', 'contact',
             'license'},
    'method': {'name', 'tags', 'summary', 'description', 'externalDocs',
               'params', 'result', 'deprecated', 'servers', 'errors',
               'links', 'paramStructure', 'examples'},
    'descriptor': {'name', 'summary', 'description', 'required', 'schema',
                   'deprecated'},
    'error': {'code', 'message', 'data'},
}


class _Checker:
    def __init__(self, doc: object) -> None:
        self.doc = doc
        self.problems: List[str] = []

    def bad(self, where: str, text: str) -> None:
        self.problems.append(f'{where or "/"}: {text}')

    def obj(self, value: object, where: str, kind: str,
            required: Sequence[str]) -> Optional[Dict[str, object]]:
        if not isinstance(value, dict):
            self.bad(where, f'must be an object ({kind})')
            return None
        for key in required:
            if key not in value:
                self.bad(where, f'{kind} lacks required {key!r}')
        for key in value:
            if key not in _KEYS[kind] and not str(key).startswith('x-'):
                owner = kind or 'the document'
                self.bad(where, f'{key!r} is not a member of {owner}')
        return value

    def text(self, value: object, where: str) -> None:
        if not isinstance(value, str) or not value:
            self.bad(where, 'must be a non-empty string')

    def run(self) -> List[str]:
        doc = self.obj(self.doc, '', '', ('openrpc', 'info', 'methods'))
        if doc is None:
            return self.problems
        version = doc.get('openrpc')
        if 'openrpc' in doc and not (isinstance(version, str) and
                                     _VERSION.match(version)):
            self.bad('/openrpc', f'must be an OpenRPC 1.x version, got '
                     f'{version!r}')
        info = self.obj(doc.get('info'), '/info', 'info',
                        ('title', 'version'))
        if info is not None:
            for key in ('title', 'version'):
                if key in info:
                    self.text(info[key], f'/info/{key}')
        methods = doc.get('methods')
        if not isinstance(methods, list):
            self.bad('/methods', 'must be an array')
            methods = []
        names = set()
        for i, method in enumerate(methods):
            name = self.method(method, f'/methods/{i}')
            if name in names:
                self.bad(f'/methods/{i}/name', f'duplicate method {name!r}')
            names.add(name)
        self.components(doc.get('components'))
        self.refs(doc, '')
        return self.problems

    def method(self, value: object, where: str) -> Optional[str]:
        method = self.obj(value, where, 'method', ('name', 'params'))
        if method is None:
            return None
        name = method.get('name')
        self.text(name, f'{where}/name')
        if isinstance(name, str) and name.startswith('rpc.'):
            self.bad(f'{where}/name', 'names starting with rpc. are '
                     'reserved')
        params = method.get('params')
        if not isinstance(params, list):
            self.bad(f'{where}/params', 'must be an array')
            params = []
        seen, optional = set(), False
        for j, p in enumerate(params):
            at = f'{where}/params/{j}'
            d = self.descriptor(p, at)
            if d is None:
                continue
            if d.get('name') in seen:
                self.bad(f'{at}/name', f'duplicate parameter {d["name"]!r}')
            seen.add(d.get('name'))
            if d.get('required') is True and optional:
                self.bad(at, 'a required parameter after an optional one')
            optional = optional or d.get('required') is not True
        if 'result' in method:
            self.descriptor(method['result'], f'{where}/result')
        structure = method.get('paramStructure', 'either')
        if structure not in ('by-name', 'by-position', 'either'):
            self.bad(f'{where}/paramStructure', f'{structure!r} is not '
                     f'by-name, by-position or either')
        errors = method.get('errors', [])
        if not isinstance(errors, list):
            self.bad(f'{where}/errors', 'must be an array')
            errors = []
        for k, e in enumerate(errors):
            error = self.obj(e, f'{where}/errors/{k}', 'error',
                             ('code', 'message'))
            if error is None:
                continue
            code = error.get('code')
            if isinstance(code, bool) or not isinstance(code, int):
                self.bad(f'{where}/errors/{k}/code', 'must be an integer')
            if not isinstance(error.get('message'), str):
                self.bad(f'{where}/errors/{k}/message', 'must be a string')
        return name if isinstance(name, str) else None

    def descriptor(self, value: object, where: str
                   ) -> Optional[Dict[str, object]]:
        d = self.obj(value, where, 'descriptor', ('name', 'schema'))
        if d is None:
            return None
        self.text(d.get('name'), f'{where}/name')
        if 'required' in d and not isinstance(d['required'], bool):
            self.bad(f'{where}/required', 'must be true or false')
        if 'schema' in d:
            self.schema(d['schema'], f'{where}/schema')
        return d

    def components(self, value: object) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.bad('/components', 'must be an object')
            return
        schemas = value.get('schemas', {})
        if not isinstance(schemas, dict):
            self.bad('/components/schemas', 'must be an object')
            return
        for name, schema in schemas.items():
            if not _COMPONENT.match(name):
                self.bad(f'/components/schemas/{name}', 'name must match '
                         f'{_COMPONENT.pattern}')
            self.schema(schema, f'/components/schemas/{name}')

    def schema(self, value: object, where: str) -> None:
        if isinstance(value, bool):
            return
        if not isinstance(value, dict):
            self.bad(where, 'a JSON Schema is an object or a boolean')
            return
        kind = value.get('type')
        kinds = kind if isinstance(kind, list) else [kind]
        if 'type' in value and not all(k in _TYPES for k in kinds):
            self.bad(f'{where}/type', f'{kind!r} is not a JSON Schema type')
        for key in ('items', 'additionalProperties'):
            if key in value:
                self.schema(value[key], f'{where}/{key}')
        for key in ('properties',):
            for name, sub in dict(value.get(key) or {}).items():
                self.schema(sub, f'{where}/{key}/{name}')
        for key in ('anyOf', 'oneOf', 'allOf'):
            for n, sub in enumerate(value.get(key) or []):
                self.schema(sub, f'{where}/{key}/{n}')

    def refs(self, value: object, where: str) -> None:
        if isinstance(value, dict):
            ref = value.get('$ref')
            if isinstance(ref, str) and not self.resolves(ref):
                self.bad(where, f'$ref {ref!r} does not resolve')
            for key, sub in value.items():
                self.refs(sub, f'{where}/{key}')
        elif isinstance(value, list):
            for n, sub in enumerate(value):
                self.refs(sub, f'{where}/{n}')

    def resolves(self, ref: str) -> bool:
        if not ref.startswith('#'):
            return True              # external: not ours to fetch
        node: object = self.doc
        for part in ref[1:].split('/')[1:]:
            part = part.replace('~1', '/').replace('~0', '~')
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and \
                    int(part) < len(node):
                node = node[int(part)]
            else:
                return False
        return True


def check_document(doc: object) -> List[str]:
    """The problems of OpenRPC document *doc* (parsed JSON), each as
    ``'/json/pointer: what is wrong'``; empty if it passes."""
    return _Checker(doc).run()


def _main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print('usage: python3 -m npipes._contract.openrpc FILE.json',
              file=sys.stderr)
        return 2
    with open(argv[0], encoding='utf-8') as f:
        problems = check_document(json.load(f))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(_main(sys.argv[1:]))
