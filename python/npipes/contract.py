"""The typed contract of an RPC service, shared by Python and .NET: OpenRPC
documents (``rpc.discover``) with JSON Schema from type hints, argument
checking (-32602 before the method runs), typed proxies and generated
stubs.  No I/O: the rpc and aio servers and clients use it.

Naming on the wire: parameter and object member names are camelCase
(``first_name`` is sent as ``firstName``; ``members=AS_IS`` turns that off);
method names are the Python names unless a transform is chosen
(``methods=CAMEL_CASE``, ``PASCAL_CASE``, ``prefix('calc.')``) or a method
is decorated with :func:`wire_name`.  See docs/rpc.md, "Discovery".

::

    from npipes import contract

    @dataclass
    class Stats:
        count: int
        mean: float

    class Calculator:
        def add(self, a: int, b: int) -> int: ...
        def stats(self, values: List[float]) -> Stats: ...

    service = contract.describe_service(Calculator())
    service.document()                  # the OpenRPC document
    service.get('add').bind([1, 2])     # ((), {'a': 1, 'b': 2})
    service.get('add').bind(['x', 2])   # InvalidParamsError (-32602)
    contract.python_stubs(service.document(), source='pipe calc')
"""

from ._contract.csharp import csharp_stubs
from ._contract.errors import (ContractError, InvalidParamsError,
                               ResultTypeError)
from ._contract.method import MethodContract
from ._contract.names import (AS_IS, CAMEL_CASE, OMIT_NONE, PASCAL_CASE,
                              WIRE_NAME, NameTransform, camel, pascal, prefix,
                              snake, wire_name)
from ._contract.openrpc import check_document
from ._contract.proxy import (Params, SendCall, SendCallAsync, async_proxy,
                              protocol_methods, proxy)
from ._contract.python import python_stubs
from ._contract.service import (DISCOVER_METHOD, OPENRPC_VERSION,
                                ServiceContract, describe_service,
                                served_functions)

__all__ = ['describe_service', 'ServiceContract', 'MethodContract',
           'served_functions', 'proxy', 'async_proxy', 'protocol_methods',
           'SendCall', 'SendCallAsync', 'Params',
           'python_stubs', 'csharp_stubs', 'check_document', 'ContractError',
           'InvalidParamsError', 'ResultTypeError', 'NameTransform', 'AS_IS',
           'CAMEL_CASE', 'PASCAL_CASE', 'prefix', 'camel', 'pascal', 'snake',
           'wire_name', 'WIRE_NAME', 'OMIT_NONE', 'DISCOVER_METHOD',
           'OPENRPC_VERSION']
