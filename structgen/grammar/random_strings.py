"""Random members of a grammar's language, for property tests.

`random_string` walks the rule bodies, choosing alternatives and repetition
counts at random. A recursive grammar could recurse forever, so each rule
has a *height*: the fewest nested rule expansions needed to finish it. The
depth of a point in the walk is its nesting depth: how many times some rule
is already open around it (a JSON value inside two arrays has depth 2,
however many helper rules lie between). Past `max_depth` (and, below it,
with a probability that grows with the depth, or once the output is
`max_length` bytes long) the walk takes the alternative of least height and
the fewest repetitions, so every expansion strictly lowers the height and
the walk ends.
"""

from __future__ import annotations

import math
import random

from ..automata import ir
from .grammar import Grammar


def random_string(grammar: Grammar, rng: random.Random, max_depth: int = 8, max_repeat: int = 4,
                  max_length: int = 256) -> bytes:
    """A random byte string in the language of `grammar`.

    `max_depth` bounds the nesting depth up to which choices are free;
    `max_repeat` bounds the extra repetitions drawn beyond a repeat's minimum;
    past `max_length` bytes the walk only finishes what it has opened (so the
    result can be longer, by the shortest completion).
    """
    return _Walker(grammar, rng, max_depth, max_repeat, max_length).run()


def grammar_strings(grammar: Grammar, max_depth: int = 6, max_repeat: int = 4, max_length: int = 256):
    """A hypothesis strategy of random members of `grammar`'s language.

    The walk draws from a seeded `random.Random` (hypothesis picks the seed):
    letting hypothesis record every draw would make it shrinkable but many
    times slower, since one string takes thousands of draws.
    """
    from hypothesis import strategies as st

    return st.randoms(use_true_random=True).map(
        lambda rng: random_string(grammar, rng, max_depth=max_depth, max_repeat=max_repeat, max_length=max_length)
    )


class _Walker:
    def __init__(self, grammar: Grammar, rng: random.Random, max_depth: int, max_repeat: int, max_length: int):
        self.rules = grammar.rules
        self.start = grammar.start
        self.rng = rng
        self.max_depth = max_depth
        self.max_repeat = max_repeat
        self.max_length = max_length
        self.heights = _rule_heights(grammar.rules)
        self.cost_cache: dict[ir.Node, float] = {}
        self.open_count: dict[str, int] = dict.fromkeys(grammar.rules, 0)
        if math.isinf(self.heights[self.start]):
            raise ValueError(f"rule {self.start!r} derives no finite string")

    def run(self) -> bytes:
        out = bytearray()
        self.walk(self.rules[self.start], 0, out)
        return bytes(out)

    def cost(self, node: ir.Node) -> float:
        cached = self.cost_cache.get(node)
        if cached is None:
            cached = self.cost_cache[node] = _cost(node, self.heights)
        return cached

    def walk(self, node: ir.Node, depth: int, out: bytearray) -> None:
        finishing = (depth >= self.max_depth or len(out) >= self.max_length
                     or self.rng.random() < depth / self.max_depth)
        if isinstance(node, ir.ByteSet):
            out.append(self.rng.choice([b for b in range(256) if node.bits >> b & 1]))
        elif isinstance(node, ir.Seq):
            for part in node.parts:
                self.walk(part, depth, out)
        elif isinstance(node, ir.Alt):
            costs = [self.cost(o) for o in node.options]
            if finishing:
                best = min(costs)
                options = [o for o, c in zip(node.options, costs) if c == best]
            else:
                options = [o for o, c in zip(node.options, costs) if not math.isinf(c)]
            self.walk(self.rng.choice(options), depth, out)
        elif isinstance(node, ir.Repeat):
            count = node.min
            if not finishing:
                cap = self.max_repeat if node.max is None else min(self.max_repeat, node.max - node.min)
                while count < node.min + cap and self.rng.random() < 0.5:
                    count += 1
            for _ in range(count):
                self.walk(node.node, depth, out)
        elif isinstance(node, ir.Members):
            self.walk(node.plain(), depth, out)
        elif isinstance(node, ir.Ref):
            self.open_count[node.name] += 1
            self.walk(self.rules[node.name], max(depth, self.open_count[node.name] - 1), out)
            self.open_count[node.name] -= 1
        else:
            raise TypeError(f"random_string does not walk {type(node).__name__} nodes")


def _cost(node: ir.Node, heights: dict[str, float]) -> float:
    """The largest rule height a shortest derivation of `node` needs (inf: none finishes)."""
    if isinstance(node, ir.Ref):
        return heights[node.name]
    if isinstance(node, ir.Seq):
        return max((_cost(p, heights) for p in node.parts), default=0)
    if isinstance(node, ir.Alt):
        return min((_cost(o, heights) for o in node.options), default=math.inf)
    if isinstance(node, ir.Repeat):
        return 0 if node.min == 0 else _cost(node.node, heights)
    if isinstance(node, ir.Members):
        return _cost(node.plain(), heights)
    return 0


def _rule_heights(rules: dict[str, ir.Node]) -> dict[str, float]:
    """Least fixed point of height(r) = 1 + cost(body(r))."""
    heights = {name: math.inf for name in rules}
    changed = True
    while changed:
        changed = False
        for name, body in rules.items():
            h = 1 + _cost(body, heights)
            if h < heights[name]:
                heights[name] = h
                changed = True
    return heights
