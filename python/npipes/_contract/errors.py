"""The errors of the contract layer and the JSON-RPC codes it names.

The codes repeat docs/rpc.md section 5 (and npipes._jsonrpc) so that this
package stays free of the RPC engine: the engine maps these errors to
replies, the contract only decides what is wrong."""

from __future__ import annotations

from typing import Optional, Sequence

__all__ = ['ContractError', 'InvalidParamsError', 'ResultTypeError',
           'INVALID_PARAMS', 'INTERNAL_ERROR', 'INVOCATION_ERROR',
           'REQUEST_CANCELLED', 'METHOD_NOT_FOUND']

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
INVOCATION_ERROR = -32000
REQUEST_CANCELLED = -32800


class ContractError(TypeError):
    """A service cannot be described: a parameter or result whose type has
    no JSON Schema (``Any``, no annotation, a callable, ``*args``, ...),
    two names that meet on the wire, or a document that is not valid.

    Raised when the contract is built (at discovery time), never later.
    ``method`` and ``param`` name the culprit when there is one;
    ``problems`` lists every problem found when several methods fail."""

    def __init__(self, message: str, *, method: Optional[str] = None,
                 param: Optional[str] = None,
                 problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.method = method
        self.param = param
        self.problems = list(problems) or [message]

    @classmethod
    def of(cls, errors: Sequence[ContractError]) -> ContractError:
        """One error for *errors*: itself if there is one, else one that
        lists them all."""
        if len(errors) == 1:
            return errors[0]
        texts = [str(e) for e in errors]
        return cls('; '.join(texts), problems=texts)


class InvalidParamsError(ValueError):
    """The JSON params of a call do not fit the method's type hints: the
    server answers JSON-RPC ``-32602`` with ``str(self)`` as the message,
    before the method runs.  ``param`` is the path of the culprit on the
    wire (``'b'``, ``'stats.count'``, ``'items[2]'``) or None when the
    params as a whole are wrong (too many)."""

    code = INVALID_PARAMS

    def __init__(self, method: str, detail: str,
                 param: Optional[str] = None,
                 expected: Optional[str] = None) -> None:
        super().__init__(f'invalid params for {method!r}: {detail}')
        self.method = method
        self.param = param
        self.expected = expected


class ResultTypeError(TypeError):
    """A method returned a value that does not fit its return annotation:
    the server answers ``-32603`` (internal error) instead of sending it,
    as .NET does when a result cannot be serialized."""

    code = INTERNAL_ERROR
