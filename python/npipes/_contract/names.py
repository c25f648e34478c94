"""Names on the wire: the method-name transforms (StreamJsonRpc's
CommonMethodNameTransforms: as-is, camelCase, PascalCase, a prefix) and the
member convention, camelCase, for parameters and object members.

``first_name`` is sent as ``firstName`` (:func:`camel`); a name that is
already camelCase is unchanged, so ``firstName`` stays ``firstName``.  The
way back (``firstName`` -> ``first_name``, :func:`snake`) is used only to
name things in generated Python; the receiver never guesses: it maps wire
names through the table built from its own Python names."""

from __future__ import annotations

import keyword
import re
from typing import Callable, TypeVar

__all__ = ['NameTransform', 'AS_IS', 'CAMEL_CASE', 'PASCAL_CASE', 'prefix',
           'camel', 'pascal', 'snake', 'wire_name', 'WIRE_NAME', 'OMIT_NONE',
           'WIRE_NAME_ATTR']

#: Maps a Python name to its name on the wire.
NameTransform = Callable[[str], str]

#: dataclasses.field(metadata={WIRE_NAME: 'Count'}): this member's wire name,
#: whatever the member convention says.
WIRE_NAME = 'npipes.wire_name'
#: dataclasses.field(metadata={OMIT_NONE: True}): a None in this member is
#: left out of the JSON object instead of being sent as null (a member that
#: is optional on the wire but not nullable, as in generated stubs).
OMIT_NONE = 'npipes.omit_none'
#: The attribute :func:`wire_name` sets on a function.
WIRE_NAME_ATTR = '__npipes_wire_name__'

F = TypeVar('F', bound=Callable[..., object])


def wire_name(name: str) -> Callable[[F], F]:
    """Decorator: serve (or, on a Protocol, call) this method under *name*
    on the wire, whatever the method-name transform says."""
    if not isinstance(name, str) or not name:
        raise ValueError(f'a wire name is a non-empty str, got {name!r}')

    def mark(func: F) -> F:
        setattr(func, WIRE_NAME_ATTR, name)
        return func
    return mark


def _lower_head(name: str) -> str:
    # System.Text.Json's JsonNamingPolicy.CamelCase: lower the leading run
    # of capitals, but leave the last one of a run before a lower-case
    # letter ('IOStream' -> 'ioStream', 'Add' -> 'add').
    chars = list(name)
    for i, ch in enumerate(chars):
        if i == 1 and not ch.isupper():
            break
        if i > 0 and i + 1 < len(chars) and not chars[i + 1].isupper():
            break
        chars[i] = ch.lower()
    return ''.join(chars)


def camel(name: str) -> str:
    """``first_name`` -> ``firstName``; ``Add`` -> ``add``; ``class_`` ->
    ``class`` (a trailing underscore is Python's way round a keyword)."""
    core = name.rstrip('_') or name
    lead = len(core) - len(core.lstrip('_'))
    parts = [p for p in core[lead:].split('_') if p]
    if not parts:
        return name
    head = _lower_head(parts[0])
    return core[:lead] + head + ''.join(p[0].upper() + p[1:]
                                        for p in parts[1:])


def pascal(name: str) -> str:
    """``get_stats`` -> ``GetStats``; ``add`` -> ``Add``."""
    text = camel(name)
    lead = len(text) - len(text.lstrip('_'))
    return text[:lead] + text[lead:lead + 1].upper() + text[lead + 1:]


def as_is(name: str) -> str:
    """The Python name, unchanged."""
    return name


AS_IS: NameTransform = as_is
CAMEL_CASE: NameTransform = camel
PASCAL_CASE: NameTransform = pascal


def prefix(text: str, then: NameTransform = AS_IS) -> NameTransform:
    """*text* before the name *then* gives (StreamJsonRpc's
    ``CommonMethodNameTransforms.Prepend``): ``prefix('calc.')``."""
    def transform(name: str) -> str:
        return text + then(name)
    transform.__name__ = f'prefix({text!r})'
    return transform


_BOUNDARY = re.compile(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])')


def snake(name: str) -> str:
    """A Python identifier for wire name *name*: ``firstName`` ->
    ``first_name``, ``HTTPCode`` -> ``http_code``, ``class`` -> ``class_``,
    other characters -> ``_``.  Callers check that :func:`camel` leads back
    (it does for camelCase names) before relying on it."""
    text = _BOUNDARY.sub('_', name).lower()
    text = re.sub(r'\W', '_', text) or '_'
    if text[0].isdigit():
        text = '_' + text
    return text + '_' if keyword.iskeyword(text) or text in (
        'self', 'cancel') else text
