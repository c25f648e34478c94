"""The sample service of the contract tests (module level, so that type
hints in quotes resolve), and an in-process loopback that plays a server
for proxies: JSON in, JSON out, through the contract, without a pipe."""

import enum
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from npipes import contract


class Color(enum.Enum):
    RED = 'red'
    GREEN = 'green'


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Stats:
    """Summary of some numbers."""
    count: int
    mean: float
    first_name: Optional[str] = None


@dataclass
class Tree:
    value: int
    children: List['Tree'] = field(default_factory=list)


class Calculator:
    """What the CLI demo serves, typed, plus richer types."""

    def add(self, a: int, b: int) -> int:
        """a + b."""
        return a + b

    def echo(self, text: str) -> str:
        return text

    def stats(self, values: List[float], color: Color = Color.RED) -> Stats:
        return Stats(len(values), sum(values) / max(len(values), 1),
                     first_name=color.value)

    def depth(self, tree: Tree) -> int:
        return 1 + max((self.depth(c) for c in tree.children), default=0)

    def blob(self, data: bytes, cancel: object = None) -> Optional[bytes]:
        return data[::-1] or None

    def tally(self, counts: Dict[str, int], level: Level) -> int:
        return sum(counts.values()) * level.value

    def reset(self) -> None:
        return None


class Loopback:
    """Answers ``send(method, params)`` as a server would (bind, run,
    dump), with a JSON encode/decode between, and keeps what was sent."""

    def __init__(self, service: contract.ServiceContract) -> None:
        self.service = service
        self.sent: List[object] = []

    def __call__(self, method: str, params: object) -> object:
        params = json.loads(json.dumps(params))
        self.sent.append((method, params))
        m = self.service.get(method)
        if m is None:
            raise LookupError(method)
        args, kwargs = m.bind(params)
        if m.takes_cancel:
            kwargs['cancel'] = None
        result = m.func(*args, **kwargs)  # type: ignore[operator]
        return json.loads(json.dumps(m.dump_result(result)))

    async def call_async(self, method: str, params: object) -> object:
        return self(method, params)
