"""One served method's contract: its wire name, parameters and result as
nodes, read once from the signature and type hints; binds JSON params to
Python arguments (or says why not, for -32602) and dumps the result."""

from __future__ import annotations

import inspect
from typing import Dict, List, Optional, Tuple

from .errors import (INTERNAL_ERROR, INVALID_PARAMS, INVOCATION_ERROR,
                     REQUEST_CANCELLED, ContractError, InvalidParamsError,
                     ResultTypeError)
from .hints import Resolver, Unsupported, type_hints
from .nodes import Mismatch, Node, Schema, short

__all__ = ['Param', 'MethodContract', 'CANCEL_PARAM', 'ERRORS']

#: The keyword parameter through which a function receives its cancel token
#: (npipes._rpctargets): injected by the server, never on the wire.
CANCEL_PARAM = 'cancel'
#: The keyword parameter through which a function receives its caller's
#: PeerIdentity (docs/access.md §5): injected too, never on the wire.
CALLER_PARAM = 'caller'

#: The errors every method may answer (docs/rpc.md sections 5 and 8.3):
#: always all four, in this order, with these messages.
ERRORS: List[Tuple[int, str]] = [
    (INVALID_PARAMS, 'Invalid params'),
    (INTERNAL_ERROR, 'Internal error'),
    (INVOCATION_ERROR, 'Invocation error'),
    (REQUEST_CANCELLED, 'Request cancelled'),
]
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class Param:
    """One parameter: Python name, wire name, node, required (no default)."""

    __slots__ = ('py', 'wire', 'node', 'required', 'positional_only',
                 'default')

    def __init__(self, p: inspect.Parameter, wire: str, node: Node) -> None:
        self.py, self.wire, self.node = p.name, wire, node
        self.required = p.default is inspect.Parameter.empty
        self.positional_only = p.kind == p.POSITIONAL_ONLY
        self.default: object = p.default


def _takes_cancel(sig: inspect.Signature, name: str = CANCEL_PARAM) -> bool:
    p = sig.parameters.get(name)
    return p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                        p.KEYWORD_ONLY)


class MethodContract:
    """*func* served (or called, by a proxy) as *name*; ContractError if its
    signature cannot be described (an un-annotated or Any-typed parameter,
    ``*args``, ...).  *unbound*: *func* is a class's function (its first
    parameter, ``self``, is not a parameter on the wire)."""

    def __init__(self, name: str, func: object, resolver: Resolver,
                 unbound: bool = False) -> None:
        if not callable(func):
            raise ContractError(f'method {name!r} is not callable: {func!r}',
                                method=name)
        self.name = name
        self.func = func
        self.doc = inspect.getdoc(func) or ''
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError) as exc:
            raise ContractError(f'method {name!r}: no signature: {exc}',
                                method=name) from None
        if unbound:                     # a Protocol's function: no self
            sig = sig.replace(parameters=list(sig.parameters.values())[1:])
        self.signature = sig
        self.takes_cancel = _takes_cancel(sig)
        hints = self._hints(func)
        self.params: List[Param] = []
        for p in sig.parameters.values():
            if p.name == CANCEL_PARAM and self.takes_cancel or \
                    p.name == CALLER_PARAM and _takes_cancel(sig, p.name):
                continue
            self.params.append(self._param(p, hints, resolver))
        self._by_wire: Dict[str, Param] = {}
        for param in self.params:
            if param.wire in self._by_wire:
                raise ContractError(
                    f'method {name!r}: parameters '
                    f'{self._by_wire[param.wire].py!r} and {param.py!r} are '
                    f'both {param.wire!r} on the wire', method=name,
                    param=param.py)
            self._by_wire[param.wire] = param
        if 'return' not in hints:
            raise ContractError(f'method {name!r} has no return annotation '
                                f'(write -> None if it returns nothing)',
                                method=name)
        try:
            self.result: Node = resolver.node(hints['return'])
        except Unsupported as exc:
            raise ContractError(f'cannot describe the result of method '
                                f'{name!r}: {exc}', method=name) from None

    def _hints(self, func: object) -> Dict[str, object]:
        try:
            return type_hints(func)
        except Unsupported:
            call = getattr(func, '__call__', None)    # a callable object
            try:
                return type_hints(call)
            except Unsupported as exc:
                raise ContractError(f'method {self.name!r}: {exc}',
                                    method=self.name) from None

    def _param(self, p: inspect.Parameter, hints: Dict[str, object],
               resolver: Resolver) -> Param:
        where = f'parameter {p.name!r} of method {self.name!r}'
        if p.kind in _VARIADIC:
            raise ContractError(f'cannot describe {where}: *args and **kwargs'
                                f' have no JSON Schema; name each parameter',
                                method=self.name, param=p.name)
        if p.name not in hints:
            raise ContractError(f'cannot describe {where}: it has no type '
                                f'annotation', method=self.name,
                                param=p.name)
        try:
            node = resolver.node(hints[p.name])
        except Unsupported as exc:
            raise ContractError(f'cannot describe {where}: {exc}',
                                method=self.name, param=p.name) from None
        return Param(p, resolver.members(p.name), node)

    # -- calls ------------------------------------------------------------

    def _fail(self, param: Optional[Param], exc: Mismatch) -> InvalidParamsError:
        path = (param.wire if param else '') + ''.join(exc.path)
        if exc.detail.startswith('required'):
            detail = f'{path!r} is missing ({exc.detail}: {exc.expected})'
        elif exc.detail == 'unknown member':
            detail = f'{path!r} is not {exc.expected}'
        else:
            detail = f'{path!r} must be {exc.expected}, got {short(exc.got)}'
            if exc.detail:
                detail += f' ({exc.detail})'
        return InvalidParamsError(self.name, detail, path, exc.expected)

    def bind(self, params: object) -> Tuple[Tuple[object, ...],
                                            Dict[str, object]]:
        """``(args, kwargs)`` for calling the method with JSON *params* (a
        list, a dict or None), every value checked and converted;
        InvalidParamsError naming the parameter otherwise.  The caller adds
        the cancel token when ``takes_cancel``."""
        values: Dict[str, object] = {}
        if params is None:
            params = []
        if isinstance(params, list):
            if len(params) > len(self.params):
                raise InvalidParamsError(
                    self.name, f'takes at most {len(self.params)} params, '
                    f'got {len(params)}')
            for param, value in zip(self.params, params):
                values[param.py] = self._load(param, value)
        elif isinstance(params, dict):
            for key, value in params.items():
                named = self._by_wire.get(key)
                if named is None:
                    known = ', '.join(repr(p.wire) for p in self.params)
                    raise InvalidParamsError(
                        self.name, f'{key!r} is not a parameter (parameters:'
                        f' {known or "none"})', key)
                values[named.py] = self._load(named, value)
        else:
            raise InvalidParamsError(self.name, 'params must be an array or '
                                     'an object')
        args: List[object] = []
        kwargs: Dict[str, object] = {}
        for param in self.params:
            if param.py in values:
                value = values[param.py]
            elif param.required:
                raise InvalidParamsError(
                    self.name, f'missing required parameter {param.wire!r} '
                    f'({param.node.describe()})', param.wire,
                    param.node.describe())
            elif param.positional_only:
                value = param.default
            else:
                continue
            if param.positional_only:
                args.append(value)
            else:
                kwargs[param.py] = value
        return tuple(args), kwargs

    def _load(self, param: Param, value: object) -> object:
        try:
            return param.node.load(value)
        except Mismatch as exc:
            raise self._fail(param, exc) from None

    def dump_params(self, args: Tuple[object, ...],
                    kwargs: Dict[str, object]) -> object:
        """The JSON params for calling the method with Python *args* and
        *kwargs* (a client's side): positional when every given argument
        comes before every omitted one, else named.  TypeError if they do
        not fit the signature or a value does not fit its hint."""
        bound = self.signature.bind(*args, **kwargs)
        given = bound.arguments
        wire: List[Tuple[str, object]] = []
        for param in self.params:
            if param.py not in given:
                continue
            try:
                wire.append((param.wire, param.node.dump(given[param.py])))
            except Mismatch as exc:
                raise TypeError(self._fail(param, exc).args[0]) from None
        if [w for w, _ in wire] == [p.wire for p in self.params[:len(wire)]]:
            return [v for _, v in wire]
        return dict(wire)

    def load_result(self, value: object) -> object:
        """A JSON result as the Python value the return annotation names
        (a client's side); ResultTypeError if it does not fit."""
        try:
            return self.result.load(value)
        except Mismatch as exc:
            raise self._result_error(exc) from None

    def _result_error(self, exc: Mismatch) -> ResultTypeError:
        where = ''.join(exc.path)
        at = f' at {where!r}' if where else ''
        return ResultTypeError(f'the result of {self.name!r}{at} must be '
                               f'{exc.expected}, got {short(exc.got)}')

    def dump_result(self, value: object) -> object:
        """The method's return *value* as JSON; ResultTypeError if it does
        not fit the return annotation."""
        try:
            return self.result.dump(value)
        except Mismatch as exc:
            raise self._result_error(exc) from None

    def describe(self) -> Schema:
        """This method as an OpenRPC Method Object."""
        return {'name': self.name, 'paramStructure': 'either',
                'params': [self._descriptor(p) for p in self.params],
                'result': {'name': 'result', 'schema': self.result.schema()},
                'errors': [{'code': c, 'message': m} for c, m in ERRORS]}

    @staticmethod
    def _descriptor(p: Param) -> Schema:
        return {'name': p.wire, 'schema': p.node.schema(),
                'required': p.required}
