"""The functions an RPC server (or client) answers for: naming them, binding
JSON params to them before calling, and the cancellation token they may
ask for with a keyword parameter named ``cancel``.

A function whose signature is fully typed gets a contract (npipes.contract,
built once per Registry): its params are checked and converted by its type
hints (-32602 naming the parameter, before it runs), its result converted
back (-32603 if it does not fit), and ``rpc.discover`` describes it.  An
untyped function is served as before (plain JSON-type hints checked), and
makes ``rpc.discover`` answer -32603 naming it, as .NET does for a target it
cannot describe (docs/rpc.md §8)."""

from __future__ import annotations

import asyncio
import copy
import inspect
import threading
from typing import (Any, Callable, Collection, Dict, List, Mapping,
                    Optional, Tuple, TypeVar, Union)

from ._contract.errors import (ContractError, InvalidParamsError,
                               ResultTypeError)
from ._contract.hints import Resolver
from ._contract.method import MethodContract
from ._contract.names import AS_IS, CAMEL_CASE, NameTransform
from ._contract.service import (DISCOVER_METHOD, ServiceContract,
                                served_functions)
from ._jsonrpc import (CANCEL_METHOD, INTERNAL_ERROR, INVALID_PARAMS,
                       METHOD_NOT_FOUND, JsonValue, Params, ProtocolError,
                       RemoteError, RequestCancelledError)
from .access import PeerIdentity

__all__ = ['CancelToken', 'AsyncCancelToken', 'Registry', 'Target',
           'Function', 'Functions', 'Token', 'client_peer']

#: A function served over JSON-RPC: any signature (its parameters are bound
#: from the JSON params); what it returns is sent as JSON.
Function = Callable[..., object]
#: What a server serves: a mapping ``{name: function}``, a list (tuple, set) of
#: functions (named by ``__name__``), any object (its public methods), or
#: None (nothing).  The last makes the type ``object`` to a checker.
Functions = Union[Mapping[str, Function], Collection[Function], object, None]

#: The keyword parameter through which a function receives its token.
CANCEL_PARAM = 'cancel'
#: A function with a parameter of this name gets the caller's
#: PeerIdentity (docs/access.md §5), so it can authorize per call.
CALLER_PARAM = 'caller'


class _Cancellation:
    """What both tokens add to their Event."""

    is_set: Callable[[], bool]         # the Event's

    @property
    def cancelled(self) -> bool:
        return self.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise RequestCancelledError (the call is answered with -32800)."""
        if self.is_set():
            raise RequestCancelledError()


class CancelToken(threading.Event, _Cancellation):
    """Set when the caller cancels the request (``$/cancelRequest``, or the
    connection closing).  A threading.Event: ``wait(timeout)`` returns True
    as soon as it is cancelled, so ``if cancel.wait(1.0): ...`` sleeps
    cancellably."""


class AsyncCancelToken(asyncio.Event, _Cancellation):
    """The token of an ``async def`` function (npipes.aio): an asyncio.Event,
    so ``await cancel.wait()`` ends when the request is cancelled."""


#: Either kind of token (the async one only for ``async def`` functions).
Token = Union['CancelToken', 'AsyncCancelToken']

_SIMPLE: Dict[type, str] = {
    int: 'an integer', float: 'a number', str: 'a string',
    bool: 'true or false', list: 'an array', dict: 'an object'}
_BY_NAME = {t.__name__: t for t in _SIMPLE}


def _fits(value: object, kind: type) -> bool:
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


class Target:
    """One function: its signature, read once, and its contract if it is
    typed."""

    def __init__(self, name: str, func: Function,
                 contract: Optional[MethodContract] = None) -> None:
        self.contract = contract
        if not callable(func):
            raise TypeError(f'RPC function {name!r} is not callable: {func!r}')
        self.name = name
        self.func = func
        self.signature = inspect.signature(func)
        cancel = self.signature.parameters.get(CANCEL_PARAM)
        self.takes_cancel = cancel is not None and cancel.kind in (
            cancel.POSITIONAL_OR_KEYWORD, cancel.KEYWORD_ONLY)
        caller = self.signature.parameters.get(CALLER_PARAM)
        self.takes_caller = caller is not None and caller.kind in (
            caller.POSITIONAL_OR_KEYWORD, caller.KEYWORD_ONLY)
        self.caller: Optional[PeerIdentity] = None
        unwrapped = inspect.unwrap(func)
        self.is_async = inspect.iscoroutinefunction(unwrapped) or \
            inspect.iscoroutinefunction(getattr(unwrapped, '__call__', None))
        # Parameters annotated with a plain JSON type are checked before
        # the call, so that add("x", 2) is "invalid params" as in .NET.
        self.checks: Dict[str, Tuple[type, object]] = {}
        for p in self.signature.parameters.values():
            kind = p.annotation
            kind = _BY_NAME.get(kind, kind) if isinstance(kind, str) else kind
            if kind in _SIMPLE and p.kind in (p.POSITIONAL_ONLY,
                                              p.POSITIONAL_OR_KEYWORD,
                                              p.KEYWORD_ONLY):
                self.checks[p.name] = (kind, p.default)
        self._positional = self._plain_positional()

    def _plain_positional(self) -> Optional[Tuple[int, Tuple[str, ...]]]:
        """(how many are required, the names) when every parameter may be
        given by position and none is filled by npipes: an array of params
        then binds without inspect (which costs microseconds per call)."""
        if self.contract is not None or self.takes_cancel or \
                self.takes_caller:
            return None
        params = list(self.signature.parameters.values())
        if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params):
            return None
        required = sum(p.default is p.empty for p in params)
        if any(p.default is p.empty for p in params[required:]):
            return None
        return required, tuple(p.name for p in params)

    def bind(self, params: Optional[Params], token: Token
             ) -> Tuple[Tuple[object, ...], Dict[str, object]]:
        """``(args, kwargs)`` for calling with JSON *params*;
        ProtocolError(-32602) if they do not fit the signature."""
        plain = self._positional
        if plain is not None and isinstance(params, list) and \
                plain[0] <= len(params) <= len(plain[1]):
            for pname, value in zip(plain[1], params):
                self._check(pname, value)
            return tuple(params), {}
        extra: Dict[str, object] = \
            {CANCEL_PARAM: token} if self.takes_cancel else {}
        if self.takes_caller:
            extra[CALLER_PARAM] = self.caller
        if self.contract is not None:
            try:
                args, kwargs = self.contract.bind(params)
            except InvalidParamsError as exc:
                raise ProtocolError(INVALID_PARAMS, str(exc)) from None
            kwargs.update(extra)
            return args, kwargs
        try:
            if isinstance(params, dict):
                given = [p for p in extra if p in params]
                if given:
                    raise TypeError(f'{given[0]!r} is not a parameter '
                                    f'a caller may give')
                bound = self.signature.bind(**params, **extra)
            else:
                bound = self.signature.bind(*(params or ()), **extra)
        except TypeError as exc:
            raise ProtocolError(INVALID_PARAMS, f'invalid params for '
                                f'{self.name!r}: {exc}') from None
        for pname, value in bound.arguments.items():
            self._check(pname, value)
        return bound.args, bound.kwargs

    def _check(self, pname: str, value: object) -> None:
        """ProtocolError(-32602) unless *value* fits *pname*'s JSON type."""
        check = self.checks.get(pname)
        if check is None or (value is None and check[1] is None):
            return
        kind = check[0]
        if not _fits(value, kind):
            raise ProtocolError(
                INVALID_PARAMS, f'invalid params for {self.name!r}: '
                f'{pname!r} must be {_SIMPLE[kind]}, got '
                f'{type(value).__name__} {_short(value)}')

    def result(self, value: object) -> object:
        """What to send for the function's return *value*: converted by its
        contract (dataclasses to objects, enums to values); RemoteError
        -32603 if it does not fit the return annotation."""
        if self.contract is None:
            return value
        try:
            return self.contract.dump_result(value)
        except ResultTypeError as exc:
            raise RemoteError(INTERNAL_ERROR, str(exc)) from None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


class Registry:
    """Method name -> Target, and the service's OpenRPC document.

    *functions* is a mapping ``{name: callable}``, a list of functions
    (named by ``__name__``), or an object whose public methods are served
    (names not starting with ``_``).  None serves nothing.  *methods* maps
    Python names to wire names (npipes.contract.AS_IS, CAMEL_CASE,
    PASCAL_CASE, ``prefix('calc.')``); *members* names parameters and object
    members on the wire (camelCase: ``first_name`` is ``firstName``).  The
    document's title is the object's class name, or *name* (the server's
    pipe name) for a mapping or list of functions.
    """

    def __init__(self, functions: Functions = None, *,
                 methods: NameTransform = AS_IS,
                 members: NameTransform = CAMEL_CASE,
                 name: Optional[str] = None) -> None:
        self._targets: Dict[str, Target] = {}
        self._caller: Optional[PeerIdentity] = None
        self._problems: List[str] = []
        resolver = Resolver(members)
        contracts: Dict[str, MethodContract] = {}
        try:
            served = served_functions(functions, methods)
        except ContractError as exc:
            raise ValueError(str(exc)) from None
        for wire, func in served.items():
            if not callable(func):
                raise TypeError(f'RPC function {wire!r} is not callable: '
                                f'{func!r}')
            contract: Optional[MethodContract] = None
            if wire != DISCOVER_METHOD:
                try:
                    contract = contracts[wire] = MethodContract(
                        wire, func, resolver)
                except ContractError as exc:   # untyped: served unchecked
                    self._problems.append(str(exc))
            self.add(wire, func, contract)
        plain = functions is None or isinstance(
            functions, (Mapping, list, tuple, set, frozenset))
        title = (name or 'service') if plain else type(functions).__name__
        self._service = ServiceContract(contracts, resolver.named, title,
                                        '0.0.0')
        self._discover = Target(DISCOVER_METHOD, self.document)

    def for_caller(self, caller: PeerIdentity) -> Registry:
        """The same targets for one connection: a function with a
        ``caller`` parameter gets *caller* (the connection's peer)."""
        view = copy.copy(self)          # shares targets and the document
        view._caller = caller
        return view

    def add(self, name: str, func: Function,
            contract: Optional[MethodContract] = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f'an RPC method name is a non-empty str, got '
                             f'{name!r}')
        if name == CANCEL_METHOD:
            raise ValueError(f'{CANCEL_METHOD} is handled by npipes itself')
        self._targets[name] = Target(name, func, contract)

    def document(self) -> JsonValue:
        """The OpenRPC document (built once, then the same object);
        RemoteError -32603 listing the functions it cannot describe."""
        if self._problems:
            raise RemoteError(INTERNAL_ERROR, 'the service cannot be '
                              'described: ' + '; '.join(self._problems))
        return self._service.document()  # type: ignore[return-value]

    @property
    def serves_nothing(self) -> bool:
        """No function but ``rpc.discover``."""
        return not self._targets

    def get(self, method: str) -> Target:
        """The target for *method*; ProtocolError(-32601) if none."""
        target = self._targets.get(method)
        if target is None and method == DISCOVER_METHOD:
            return self._discover
        if target is None:
            # StreamJsonRpc's wording.
            raise ProtocolError(METHOD_NOT_FOUND, f"No method by the name "
                                f"'{method}' is found.")
        if target.takes_caller and self._caller is not None:
            target = copy.copy(target)     # this call's, with its caller
            target.caller = self._caller
        return target


def new_token(target: Optional[Target], asynchronous: bool = False) -> Token:
    """A fresh token for one request (the async kind for coroutines)."""
    if asynchronous and target is not None and target.is_async:
        return AsyncCancelToken()
    return CancelToken()


P = TypeVar('P')


def client_peer(make: Callable[..., P], connection: Any,
                functions: Functions, label: str, **limits: Any) -> P:
    """The peer of an RPC client (threads or asyncio, by *make*): its
    *functions* answer the server's requests, each seeing the server as
    its ``caller``; *limits*: max_workers, max_queued and the driver's
    own options."""
    return make(connection, Registry(functions).for_caller(connection.peer),
                label=label, **limits)

