"""A whole service's contract: every served method (from a dict of
functions, a list of them or an object's public methods) under its wire
name, and its OpenRPC document, built once."""

from __future__ import annotations

import inspect
from typing import Dict, List, Mapping, Optional, Tuple

from .errors import ContractError
from .hints import Resolver
from .method import MethodContract
from .names import AS_IS, CAMEL_CASE, WIRE_NAME_ATTR, NameTransform
from .nodes import Schema
from .records import Record

__all__ = ['ServiceContract', 'describe_service', 'served_functions',
           'OPENRPC_VERSION', 'DISCOVER_METHOD']

#: The OpenRPC version of the documents npipes writes.
OPENRPC_VERSION = '1.3.2'
#: OpenRPC's service-discovery method.
DISCOVER_METHOD = 'rpc.discover'
_RESERVED = ('$/cancelRequest', '$/progress')


def served_functions(target: object, methods: NameTransform = AS_IS
                     ) -> Dict[str, object]:
    """``{wire name: function}`` for *target*: a mapping ``{name: function}``
    (its keys go through *methods* too), a list of functions (named by
    ``__name__``) or an object, whose public methods (not starting with
    ``_``) are served.  A function decorated with ``wire_name(...)`` keeps
    that name.  Two functions with one wire name are a ContractError."""
    if target is None:
        pairs: List[Tuple[object, object]] = []
    elif isinstance(target, Mapping):
        pairs = list(target.items())
    elif isinstance(target, (list, tuple, set, frozenset)):
        pairs = [(getattr(f, '__name__', None), f) for f in target]
    else:
        pairs = [(n, getattr(target, n)) for n in dir(target)
                 if not n.startswith('_') and callable(getattr(target, n))
                 and not inspect.isclass(getattr(target, n))]
    out: Dict[str, object] = {}
    for py, func in pairs:
        if not isinstance(py, str) or not py:
            raise ContractError(f'cannot name RPC function {func!r}: give a '
                                f'mapping {{name: function}}')
        explicit = getattr(func, WIRE_NAME_ATTR, None)
        wire = explicit if isinstance(explicit, str) else methods(py)
        if wire in out:
            raise ContractError(f'two methods are named {wire!r} on the '
                                f'wire; rename one or use wire_name()',
                                method=wire)
        if wire in _RESERVED:
            raise ContractError(f'{wire!r} is answered by npipes itself',
                                method=wire)
        out[wire] = func
    return out


class ServiceContract:
    """The contract of one served target: ``methods`` by wire name, and
    :meth:`document`, the OpenRPC document (built on first use, then
    reused: answering ``rpc.discover`` costs one dict lookup)."""

    def __init__(self, methods: Dict[str, MethodContract],
                 named: Mapping[str, object], title: str,
                 version: str) -> None:
        self.methods = methods
        self._named = dict(named)
        self.title, self.version = title, version
        self._document: Optional[Schema] = None

    def get(self, name: str) -> Optional[MethodContract]:
        return self.methods.get(name)

    def document(self) -> Schema:
        """The OpenRPC document (the same object every time: do not change
        it; json.dumps it)."""
        if self._document is None:
            schemas: Schema = {}
            for name in sorted(self._named):
                node = self._named[name]
                if isinstance(node, Record):
                    schemas[name] = node.definition()
            doc: Schema = {
                'openrpc': OPENRPC_VERSION,
                'info': {'title': self.title, 'version': self.version},
                'methods': [self.methods[n].describe()
                            for n in sorted(self.methods)],
            }
            if schemas:
                doc['components'] = {'schemas': schemas}
            self._document = doc
        return self._document


def describe_service(target: object, *, title: Optional[str] = None,
                     version: str = '0.0.0', methods: NameTransform = AS_IS,
                     members: NameTransform = CAMEL_CASE) -> ServiceContract:
    """The contract of *target* (what ``rpc.serve`` takes: a dict of
    functions, a list of them or an object).

    *methods* maps Python method names to wire names (AS_IS, CAMEL_CASE,
    PASCAL_CASE, ``prefix('calc.')``); *members* maps parameter and object
    member names (camelCase by default: ``first_name`` is ``firstName`` on
    the wire).  *title* defaults to the object's class name (``'service'``
    for a dict).  Raises ContractError listing every method that cannot be
    described (``problems``), so that nothing is served mistyped."""
    resolver = Resolver(members)
    found: Dict[str, MethodContract] = {}
    problems: List[ContractError] = []
    for wire, func in served_functions(target, methods).items():
        if wire == DISCOVER_METHOD:      # the target's own: not listed
            continue
        try:
            found[wire] = MethodContract(wire, func, resolver)
        except ContractError as exc:
            problems.append(exc)
    if problems:
        raise ContractError.of(problems)
    if title is None:
        title = 'service' if isinstance(target, (Mapping, list, tuple, set,
                                                 frozenset, type(None))) \
            else type(target).__name__
    return ServiceContract(found, resolver.named, title, version)
