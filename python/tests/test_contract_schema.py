"""npipes.contract: JSON Schema from type hints, one mapping per test, and
the unsupported types refused with the method and parameter named."""

import enum
import sys
import typing
import unittest
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, List, Literal, Mapping, NewType,
                    Optional, Sequence, Tuple, TypedDict, Union)

from tests import support  # noqa: F401  (puts python/ on sys.path)
from npipes import contract
from tests.contract_sample import Color


def schema_of(hint, name='value'):
    """The schema of one parameter of type *hint*, and the components."""
    def method(value):            # annotated below, per test
        return value
    method.__annotations__ = {'value': hint, 'return': type(None)}
    doc = contract.describe_service({'m': method}).document()
    param = doc['methods'][0]['params'][0]
    return param['schema'], doc.get('components', {}).get('schemas', {})


class Point(TypedDict):
    x: int
    y: int


class Partial(TypedDict, total=False):
    label: str


if sys.version_info >= (3, 11):
    class Mixed(TypedDict):
        must: int
        may: typing.NotRequired[str]


class Rank(enum.IntEnum):
    ONE = 1
    TWO = 2


class Odd(enum.Enum):
    A = 'a'
    B = 2


@dataclass
class Node:
    name: str
    next: Optional['Node'] = None


@dataclass
class Person:
    first_name: str
    age: int = 0
    tags: List[str] = field(default_factory=list)
    legacy: str = field(default='', metadata={contract.WIRE_NAME: 'Old'})


UserId = NewType('UserId', int)


class SchemaMappingTests(unittest.TestCase):

    def test_primitives(self):
        for hint, expected in [
                (int, {'type': 'integer'}), (float, {'type': 'number'}),
                (str, {'type': 'string'}), (bool, {'type': 'boolean'}),
                (type(None), {'type': 'null'}),
                (bytes, {'type': 'string', 'contentEncoding': 'base64'}),
                (UserId, {'type': 'integer'})]:
            with self.subTest(hint=hint):
                self.assertEqual(schema_of(hint)[0], expected)

    def test_lists_both_spellings(self):
        for hint in (List[int], Sequence[int]) + (
                (eval('list[int]'),) if sys.version_info >= (3, 9) else ()):
            with self.subTest(hint=hint):
                self.assertEqual(schema_of(hint)[0],
                                 {'type': 'array', 'items': {
                                     'type': 'integer'}})
        self.assertEqual(schema_of(Tuple[str, ...])[0],
                         {'type': 'array', 'items': {'type': 'string'}})

    def test_dicts(self):
        for hint in (Dict[str, float], Mapping[str, float]):
            self.assertEqual(schema_of(hint)[0], {
                'type': 'object',
                'additionalProperties': {'type': 'number'}})

    def test_optional_and_union(self):
        self.assertEqual(schema_of(Optional[int])[0],
                         {'type': ['integer', 'null']})
        self.assertEqual(schema_of(Union[int, str])[0],
                         {'type': ['integer', 'string']})
        self.assertEqual(schema_of(Optional[Color])[0], {
            'type': ['string', 'null'], 'enum': ['red', 'green', None]})
        self.assertEqual(schema_of(Optional[List[int]])[0], {
            'type': ['array', 'null'], 'items': {'type': 'integer'}})
        self.assertEqual(schema_of(Optional[bytes])[0], {
            'type': ['string', 'null'], 'contentEncoding': 'base64'})
        self.assertEqual(schema_of(Union[None, int, str])[0],
                         {'type': ['integer', 'string', 'null']})
        self.assertEqual(schema_of(Union[int, Node])[0], {'anyOf': [
            {'type': 'integer'}, {'$ref': '#/components/schemas/Node'}]})
        self.assertEqual(schema_of(Optional[Node])[0], {'anyOf': [
            {'$ref': '#/components/schemas/Node'}, {'type': 'null'}]})

    def test_literal_and_enums(self):
        self.assertEqual(schema_of(Literal['a', 'b'])[0],
                         {'type': 'string', 'enum': ['a', 'b']})
        ref, comps = schema_of(Color)
        # Enums are inline (docs/rpc.md 8.3); string values travel as
        # they are, others as camelCase member names, as .NET's do.
        self.assertEqual(ref, {'type': 'string', 'enum': ['red', 'green']})
        self.assertEqual(comps, {})
        self.assertEqual(schema_of(Rank)[0],
                         {'type': 'string', 'enum': ['one', 'two']})
        self.assertEqual(schema_of(Odd)[0],
                         {'type': 'string', 'enum': ['a', 'b']})
        self.assertEqual(schema_of(Literal[1, 2])[0],
                         {'type': 'integer', 'enum': [1, 2]})

    def test_dataclass_camel_case_members_and_required(self):
        _, comps = schema_of(Person)
        self.assertEqual(comps['Person'], {
            'type': 'object',
            'properties': {'firstName': {'type': 'string'},
                           'age': {'type': 'integer'},
                           'tags': {'type': 'array',
                                    'items': {'type': 'string'}},
                           'Old': {'type': 'string'}},
            'required': ['firstName'], 'additionalProperties': False})

    def test_typeddict_total_and_partial(self):
        self.assertEqual(schema_of(Point)[1]['Point']['required'],
                         ['x', 'y'])
        self.assertNotIn('required', schema_of(Partial)[1]['Partial'])

    @unittest.skipUnless(sys.version_info >= (3, 11), 'NotRequired: 3.11+')
    def test_typeddict_not_required(self):
        self.assertEqual(schema_of(Mixed)[1]['Mixed']['required'], ['must'])

    def test_recursive_type_is_one_component(self):
        ref, comps = schema_of(Node)
        self.assertEqual(list(comps), ['Node'])
        self.assertEqual(comps['Node']['properties']['next'], {'anyOf': [
            {'$ref': '#/components/schemas/Node'}, {'type': 'null'}]})


class UnsupportedTests(unittest.TestCase):

    def refused(self, hint, words):
        with self.assertRaises(contract.ContractError) as caught:
            schema_of(hint)
        text = str(caught.exception)
        self.assertIn("parameter 'value' of method 'm'", text)
        self.assertIn(words, text)
        self.assertEqual((caught.exception.method, caught.exception.param),
                         ('m', 'value'))

    def test_any_object_callable_bare_generics(self):
        self.refused(Any, 'concrete type')
        self.refused(object, 'concrete type')
        self.refused(Callable[[int], int], 'no JSON Schema')
        self.refused(list, 'without an item type')
        self.refused(dict, 'without an item type')
        self.refused(typing.TypeVar('T'), 'no JSON Schema')
        self.refused(typing.Set[int], 'no JSON Schema')

    def test_fixed_tuple_int_keys_mixed_enum(self):
        self.refused(Tuple[int, str], 'fixed-length tuple')
        self.refused(Dict[int, str], 'keys are strings')

    def test_unannotated_parameter_and_result(self):
        def f(a, b: int) -> int:
            return b
        with self.assertRaisesRegex(contract.ContractError,
                                    "parameter 'a' of method 'f'.*no type"):
            contract.describe_service({'f': f})

        def g(a: int):
            return a
        with self.assertRaisesRegex(contract.ContractError,
                                    "method 'g' has no return annotation"):
            contract.describe_service([g])

    def test_variadic_parameters(self):
        def h(*args: int) -> int:
            return 0
        with self.assertRaisesRegex(contract.ContractError, r'\*args'):
            contract.describe_service({'h': h})

    def test_every_bad_method_is_listed(self):
        def a(x: Any) -> int:
            return 0

        def b(y) -> int:
            return 0
        with self.assertRaises(contract.ContractError) as caught:
            contract.describe_service({'a': a, 'b': b})
        self.assertEqual(len(caught.exception.problems), 2)

    def test_two_types_with_one_name(self):
        first = Node

        @dataclass
        class Node2:
            x: int
        Node2.__name__ = 'Node'

        def m(a: first, b: Node2) -> None:
            return None
        with self.assertRaisesRegex(contract.ContractError,
                                    'two types are named Node'):
            contract.describe_service({'m': m})


class NameTests(unittest.TestCase):

    def test_member_names_both_ways(self):
        for py, wire in [('first_name', 'firstName'), ('add', 'add'),
                         ('Add', 'add'), ('IOStream', 'ioStream'),
                         ('class_', 'class'), ('x', 'x'),
                         ('get_http_code', 'getHttpCode')]:
            self.assertEqual(contract.camel(py), wire, py)
        for wire, py in [('firstName', 'first_name'), ('HTTPCode',
                         'http_code'), ('class', 'class_'), ('a', 'a'),
                         ('cancel', 'cancel_')]:
            self.assertEqual(contract.snake(wire), py, wire)
            self.assertEqual(contract.camel(py), contract.camel(wire))

    def test_method_transforms(self):
        funcs = {'get_stats': lambda: None}
        self.assertEqual(contract.pascal('get_stats'), 'GetStats')
        for transform, name in [(contract.AS_IS, 'get_stats'),
                                (contract.CAMEL_CASE, 'getStats'),
                                (contract.PASCAL_CASE, 'GetStats'),
                                (contract.prefix('calc.'), 'calc.get_stats'),
                                (contract.prefix('calc.', contract.CAMEL_CASE),
                                 'calc.getStats')]:
            self.assertEqual(list(contract.served_functions(
                funcs, transform)), [name])

    def test_wire_name_decorator_and_collisions(self):
        @contract.wire_name('Add')
        def add(a: int, b: int) -> int:
            return a + b
        self.assertEqual(list(contract.served_functions([add])), ['Add'])
        def plain(a: int) -> int:
            return a
        with self.assertRaisesRegex(contract.ContractError, "'add'"):
            contract.served_functions({'Add': plain, 'add': plain},
                                      contract.CAMEL_CASE)
        with self.assertRaisesRegex(contract.ContractError, r'\$/progress'):
            contract.served_functions({'$/progress': plain})
        own = contract.describe_service({'rpc.discover': plain, 'p': plain})
        self.assertEqual(list(own.methods), ['p'])     # not listed


if __name__ == '__main__':
    unittest.main()
