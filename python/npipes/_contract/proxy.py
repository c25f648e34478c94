"""Typed proxies: an object that implements a ``typing.Protocol`` by calling
a JSON-RPC peer, for ``client.proxy(Calculator)`` and its asyncio twin.
Pure: the caller gives the function that sends a request."""

from __future__ import annotations

import functools
import inspect
from typing import (Awaitable, Callable, Dict, List, Tuple, TypeVar, Union,
                    cast)

from .errors import ContractError
from .hints import Resolver
from .method import MethodContract
from .names import AS_IS, CAMEL_CASE, WIRE_NAME_ATTR, NameTransform

__all__ = ['proxy', 'async_proxy', 'protocol_methods', 'SendCall',
           'SendCallAsync']

T = TypeVar('T')
#: JSON params: positional or named.
Params = Union[List[object], Dict[str, object]]
#: Sends one request: ``(method, params) -> result`` (JSON in, JSON out).
SendCall = Callable[[str, Params], object]
SendCallAsync = Callable[[str, Params], Awaitable[object]]


def protocol_methods(protocol: type, methods: NameTransform = AS_IS,
                     members: NameTransform = CAMEL_CASE
                     ) -> Dict[str, MethodContract]:
    """``{Python name: contract}`` of the public methods *protocol* declares
    (its functions not starting with ``_``); ContractError as for a
    server."""
    if not isinstance(protocol, type):
        raise TypeError(f'a proxy needs a class (a typing.Protocol), got '
                        f'{protocol!r}')
    resolver = Resolver(members)
    out: Dict[str, MethodContract] = {}
    problems: List[ContractError] = []
    for py in sorted(dir(protocol)):
        func = getattr(protocol, py)
        if py.startswith('_') or not inspect.isfunction(func):
            continue
        explicit = getattr(func, WIRE_NAME_ATTR, None)
        wire = explicit if isinstance(explicit, str) else methods(py)
        try:
            out[py] = MethodContract(wire, func, resolver, unbound=True)
        except ContractError as exc:
            problems.append(exc)
    if problems:
        raise ContractError.of(problems)
    return out


def _make(protocol: type, body: Dict[str, object]) -> object:
    cls = type(f'{protocol.__name__}Proxy', (), body)
    return cls()


def proxy(protocol: Callable[..., T], send: SendCall, *,
          methods: NameTransform = AS_IS,
          members: NameTransform = CAMEL_CASE) -> T:
    """An object typed as *protocol* whose methods call the peer through
    *send*: arguments checked and converted by the type hints (dataclasses
    to camelCase objects, enums to values), results converted back
    (ResultTypeError if the peer's result does not fit).

    *protocol* is typed ``Callable[..., T]`` rather than ``Type[T]`` so that
    mypy accepts a Protocol class (it refuses abstract classes for
    ``Type[T]``); T is then the protocol, and mypy checks every call."""
    contracts = protocol_methods(cast(type, protocol), methods, members)
    body: Dict[str, object] = {}
    for py, contract in contracts.items():
        def call(self: object, *args: object, _c: MethodContract = contract,
                 **kwargs: object) -> object:
            return _c.load_result(send(_c.name, _params(_c, args, kwargs)))
        body[py] = functools.wraps(contract.func)(call)
    return cast(T, _make(cast(type, protocol), body))


def async_proxy(protocol: Callable[..., T], send: SendCallAsync, *,
                methods: NameTransform = AS_IS,
                members: NameTransform = CAMEL_CASE) -> T:
    """:func:`proxy` for asyncio: *protocol* declares ``async def``
    methods, *send* is a coroutine function."""
    contracts = protocol_methods(cast(type, protocol), methods, members)
    body: Dict[str, object] = {}
    for py, contract in contracts.items():
        async def call(self: object, *args: object,
                       _c: MethodContract = contract,
                       **kwargs: object) -> object:
            params = _params(_c, args, kwargs)
            return _c.load_result(await send(_c.name, params))
        body[py] = functools.wraps(contract.func)(call)
    return cast(T, _make(cast(type, protocol), body))


def _params(contract: MethodContract, args: Tuple[object, ...],
            kwargs: Dict[str, object]) -> Params:
    return cast(Params, contract.dump_params(args, kwargs))


